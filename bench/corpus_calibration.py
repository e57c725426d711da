"""Corpus self-calibration (no labels) of one abstention part's index, as the pipeline would compute it.

Opens the same gold-removed copy of the kept index that ``ragwright bench abstention --part P`` asks against (the
corpus a user of that part would have), runs :func:`ragwright.answering.corpus_calibration.calibrate` on it and
writes the per-feature statistics. Reads no question and no label of the part: only its documents.
``--asks N`` measures the cost: first N plain asks of pseudo-questions made from documents outside the calibration
sample (and, per ask, the three models' decision alone: v2, trees, calibrated), then the calibration, all with the
plain embedder (no memo shared between them), so the ratio is the calibration's cost in asks.

    python bench/corpus_calibration.py --dataset xquad --data ../shared/datasets/xquad-en/xquad.en.json \\
        --part train --index bench/.cache/xquad-index --out rec/cal-xquad-train.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ragwright.answering.answerability import shipped_model
from ragwright.answering.corpus_calibration import (
    SAMPLE,
    CorpusCalibration,
    calibrate,
    pseudo_question,
    sample_passages,
)
from ragwright.answering.service import Asker
from ragwright.bench.abstention import gold_removed_copy, load_abstention_set
from ragwright.bench.common import TENANT, MemoEmbedder
from ragwright.config import load_settings
from ragwright.models.registry import embedder_from_settings
from ragwright.retrieval.analysis import analyze


def _ask_cost(asker: Asker, n: int, asks: int) -> dict[str, Any]:
    store = asker.retriever.store
    sample = list(sample_passages(store, TENANT, n + asks))[n : n + asks]
    qs = [q for _, s in sample if (q := pseudo_question(s, store.term_idf(TENANT, analyze(s)))) is not None]
    seconds: list[float] = []
    feats = []
    for q in qs:
        clock = time.perf_counter()
        answer = asker.ask(TENANT, q)
        seconds.append(time.perf_counter() - clock)
        feats.append(answer.features)
    models = {v: shipped_model(v) for v in ("v2", "trees", "calibrated")}
    dummy = CorpusCalibration.from_vectors(models["calibrated"].features, [], [])
    decide = {}
    for name, model in models.items():
        clock = time.perf_counter()
        for f in feats:
            if f is not None:
                model.probability(f, dummy)
        decide[name] = round((time.perf_counter() - clock) / max(len(feats), 1) * 1000, 4)
    return {
        "asks": len(qs),
        "ask_seconds_mean": round(sum(seconds) / max(len(seconds), 1), 4),
        "ask_seconds_p50": round(sorted(seconds)[len(seconds) // 2], 4) if seconds else None,
        "decision_ms_per_ask": decide,
    }


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
    plain = embedder_from_settings(settings.embedding, settings.gateway)
    embedder = plain if args.asks else MemoEmbedder(plain)
    with gold_removed_copy(args.index, removed, settings, embedder, {d.doc_id for d in docs}) as rw:
        asker = rw.asker("extractive")
        timing = _ask_cost(asker, args.n, args.asks) if args.asks else {}
        cal = calibrate(asker, TENANT, n=args.n)
        out = {**cal.to_dict(), **timing}
        if args.asks:
            out["calibration_over_ask"] = round(cal.seconds / timing["ask_seconds_mean"], 1)
    out["dataset"], out["part"] = args.dataset, args.part
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in out.items() if not isinstance(v, list)}, indent=1))


if __name__ == "__main__":
    main()
