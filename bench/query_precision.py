"""Query encoder precision: float32 against the derived int8 encoder, on the same index, in the same process.

    ragwright bench retrieval --beir ../shared/datasets/scifact --index /tmp/scifact-index   # once, builds the index
    python bench/query_precision.py --index /tmp/scifact-index --out bench/results/query-precision.json

Documents stay embedded in float32; only ``embed_query`` changes. For each precision and for the dense and hybrid
modes it reports nDCG@10 / Recall@100 on the BEIR split and the CPU milliseconds per query of the embedding alone and
of the whole search (``time.process_time``, one onnxruntime and one BLAS thread, so CPU time is not inflated by idle
threads). The int8 graph is derived (or read from the cache) before timing starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

SCIFACT = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True, help="Data directory of an index of the BEIR corpus.")
    ap.add_argument("--tenant", default="bench", help="Tenant holding the corpus ('bench' for `ragwright bench`).")
    ap.add_argument("--beir", type=Path, default=SCIFACT)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from ragwright.app import Ragwright
    from ragwright.bench.retrieval import load_beir_queries
    from ragwright.config import load_settings
    from ragwright.evals.ir_metrics import evaluate
    from ragwright.models.embedder import OnnxEmbedder

    queries, qrels = load_beir_queries(args.beir, args.split)
    results: dict[str, Any] = {}
    for precision in ("fp32", "int8"):
        rw = Ragwright(load_settings(data_dir=args.index, embedding={"threads": 1, "query_precision": precision}))
        try:
            embedder = rw.embedder
            assert isinstance(embedder, OnnxEmbedder)
            embedder.prepare()
            started = time.process_time()
            for text in queries.values():
                embedder._query_cache.clear()
                embedder.embed_query(text)
            embed_ms = 1000 * (time.process_time() - started) / len(queries)
            row: dict[str, Any] = {"embed_cpu_ms": round(embed_ms, 2)}
            for mode in ("dense", "hybrid"):
                run: dict[str, dict[str, float]] = {}
                started = time.process_time()
                for qid, text in queries.items():
                    embedder._query_cache.clear()
                    ranking: dict[str, float] = {}
                    for hit in rw.search(text, tenant=args.tenant, k=100, mode=mode).hits:
                        ranking.setdefault(hit.chunk.chunk.doc_id.rsplit("#", 1)[-1], hit.score)
                    run[qid] = ranking
                search_ms = 1000 * (time.process_time() - started) / len(queries)
                metrics = evaluate(run, qrels, ks=(10, 100))
                row[mode] = {
                    "ndcg@10": round(metrics["ndcg@10"], 4),
                    "recall@100": round(metrics["recall@100"], 4),
                    "search_cpu_ms": round(search_ms, 2),
                }
            results[precision] = row
            print(precision, json.dumps(row), flush=True)
        finally:
            rw.close()
    out = {
        "dataset": args.beir.name,
        "split": args.split,
        "queries": len(queries),
        "results": results,
        "embed_cpu_ratio_fp32_over_int8": round(results["fp32"]["embed_cpu_ms"] / results["int8"]["embed_cpu_ms"], 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
