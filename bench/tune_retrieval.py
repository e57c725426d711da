"""Sweep query-time retrieval parameters on a BEIR split (SciFact *train*: never tune on test).

Uses an index built by `ragwright bench retrieval --index DIR` (nothing is re-embedded), runs every query once per
configuration and prints nDCG@10 per configuration, best first. Query embeddings are cached across configurations.

    python bench/tune_retrieval.py --beir ../shared/datasets/scifact --index /tmp/scifact-index --split train
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from ragwright.app import Ragwright
from ragwright.bench.retrieval import TENANT, load_beir_queries
from ragwright.config import load_settings
from ragwright.evals.ir_metrics import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beir", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--dense-weights", default="0.4,0.5,0.6,0.7")
    ap.add_argument("--context-weights", default="1,2,3")
    ap.add_argument("--fusions", default="zscore,minmax")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.split == "test":
        raise SystemExit("refusing to tune on the test split")
    queries, qrels = load_beir_queries(args.beir, args.split)
    rows = []
    for fusion, dw, cw in itertools.product(
        args.fusions.split(","), map(float, args.dense_weights.split(",")), map(float, args.context_weights.split(","))
    ):
        settings = load_settings(
            data_dir=args.index, retrieval={"fusion": fusion, "dense_weight": dw, "context_weight": cw}
        )
        rw = Ragwright(settings)
        run = {}
        for qid, text in queries.items():
            ranking: dict[str, float] = {}
            for hit in rw.search(text, tenant=TENANT, k=100).hits:
                ranking.setdefault(hit.chunk.chunk.doc_id, hit.score)
            run[qid] = ranking
        rw.close()
        m = evaluate(run, qrels, ks=(10, 100))
        rows.append(
            {
                "fusion": fusion,
                "dense_weight": dw,
                "context_weight": cw,
                "ndcg@10": round(m["ndcg@10"], 4),
                "recall@100": round(m["recall@100"], 4),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    rows.sort(key=lambda r: -r["ndcg@10"])
    print("best:", json.dumps(rows[0]))
    if args.out:
        args.out.write_text(json.dumps({"split": args.split, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
