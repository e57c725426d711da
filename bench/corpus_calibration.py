"""Corpus self-calibration (no labels) of one abstention part's index, as the pipeline would compute it.

Opens the same gold-removed copy of the kept index that ``ragwright bench abstention --part P`` asks against (the
corpus a user of that part would have), runs :func:`ragwright.answering.corpus_calibration.calibrate` on it and
writes the per-feature statistics. Reads no question and no label of the part: only its documents.
It also times ``--asks`` real asks of pseudo-questions in the same process, for the cost ratio.

    python bench/corpus_calibration.py --dataset xquad --data ../shared/datasets/xquad-en/xquad.en.json \\
        --part train --index bench/.cache/xquad-index --out rec/cal-xquad-train.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ragwright.answering.corpus_calibration import SAMPLE, calibrate, pseudo_question, sample_passages
from ragwright.bench.abstention import gold_removed_copy, load_abstention_set
from ragwright.bench.common import TENANT, MemoEmbedder
from ragwright.config import load_settings
from ragwright.models.registry import embedder_from_settings
from ragwright.retrieval.analysis import analyze


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--part", default="test")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--corpus-limit", type=int)
    ap.add_argument("--n", type=int, default=SAMPLE)
    ap.add_argument("--asks", type=int, default=0, help="also time this many plain asks (cost ratio)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    docs, questions = load_abstention_set(args.dataset, args.data, args.corpus_limit)
    part = [q for q in questions if q.part == args.part]
    removed = set().union(*(q.gold for q in part if not q.answerable)) if part else set()
    settings = load_settings()
    memo = MemoEmbedder(embedder_from_settings(settings.embedding, settings.gateway))
    with gold_removed_copy(args.index, removed, settings, memo, {d.doc_id for d in docs}) as rw:
        asker = rw.asker("extractive")
        cal = calibrate(asker, TENANT, n=args.n)
        out = cal.to_dict()
        if args.asks:
            store = asker.retriever.store
            qs = [
                q
                for _, s in sample_passages(store, TENANT, args.asks)
                if (q := pseudo_question(s, store.term_idf(TENANT, analyze(s)))) is not None
            ]
            clock = time.perf_counter()
            for q in qs:
                asker.ask(TENANT, q)
            out["ask_seconds_mean"] = round((time.perf_counter() - clock) / max(len(qs), 1), 4)
            out["calibration_over_ask"] = round(cal.seconds / out["ask_seconds_mean"], 1)
    out["dataset"], out["part"] = args.dataset, args.part
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in out.items() if not isinstance(v, list)}, indent=1))


if __name__ == "__main__":
    main()
