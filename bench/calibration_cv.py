"""Does corpus self-calibration (or a non-linear model) carry answerability across corpora? TRAIN parts only.

For each way of reading the features (``none``: as shipped v2; ``zscore``/``center``: on each corpus's own scale
from its pseudo-question calibration, ``bench/corpus_calibration.py``), and each model (``logistic``: v2's fit;
``trees``: gradient-boosted trees, ``bench/fit_trees.py``), this reports on the train records only:

- ``pooled``: fitted on both train parts, operating point pooled (in-sample: what ``fit_answerability.py`` reports);
- ``cv``: 5-fold cross-validation by question inside the pooled train records (fit and operating point on 4/5);
- ``transfer``: fitted on one train part alone with its own operating point, decided on the other train part.

    python bench/calibration_cv.py --train xquad=rec/xquad-train.jsonl --train scifact=rec/scifact-train.jsonl \\
        --calibration xquad=rec/cal-xquad-train.json --calibration scifact=rec/cal-scifact-train.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from fit_answerability import CORE_NAMES, _pairs, auc, evaluate, fit, load_records, on_corpus_scale  # noqa: E402

from ragwright.answering.answerability import AnswerabilityModel, operating_point  # noqa: E402
from ragwright.answering.corpus_calibration import CorpusCalibration  # noqa: E402
from ragwright.bench.abstention import QuestionResult  # noqa: E402

Fitter = Callable[[dict[str, list[QuestionResult]]], AnswerabilityModel]


def _fold(qid: str, k: int = 5) -> int:
    return int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) % k


def report(train: dict[str, list[QuestionResult]], fitter: Fitter) -> dict[str, Any]:
    pooled = fitter(train)
    out: dict[str, Any] = {
        "threshold": round(pooled.threshold, 4),
        "pooled": {k: evaluate(pooled, v) for k, v in train.items()},
        "auc": {k: auc(pooled, v) for k, v in train.items()},
    }
    decided: dict[str, list[QuestionResult]] = {k: [] for k in train}
    for f in range(5):
        model = fitter({k: [r for r in v if _fold(r.qid) != f] for k, v in train.items()})
        for k, v in train.items():
            held = [r for r in v if _fold(r.qid) == f]
            p = [model.probability(_feats(r)) for r in held]
            decided[k] += [
                dataclasses.replace(r, abstained=bool(pi < model.threshold), answerability=float(pi))
                for r, pi in zip(held, p, strict=True)
            ]
    from ragwright.bench.abstention import summarise

    out["cv"] = {k: {**summarise(v), "auc": _auc(v)} for k, v in decided.items()}
    out["transfer"] = {}
    for name in train:
        alone = fitter({name: train[name]})
        out["transfer"][f"fit on {name}"] = {
            "threshold": round(alone.threshold, 4),
            **{k: evaluate(alone, v) for k, v in train.items() if k != name},
        }
    return out


def _auc(records: list[QuestionResult]) -> float:
    pos = np.array([r.answerability for r in records if r.answerable and r.gold_top5])
    neg = np.array([r.answerability for r in records if not r.answerable])
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return round(float(wins) / (len(pos) * len(neg)), 4)


def _each(fitter: Fitter) -> Fitter:
    """``fitter`` with the operating point at most 5 % false abstention on each dataset (not pooled)."""

    def refit(d: dict[str, list[QuestionResult]]) -> AnswerabilityModel:
        model = fitter(d)
        points = [
            operating_point([model.probability(_feats(r)) for r in v if r.answerable and r.gold_top5], 0.05)
            for v in d.values()
        ]
        return dataclasses.replace(model, threshold=min(points))

    return refit


def _feats(r: QuestionResult) -> Any:
    from ragwright.answering.features import AnswerabilityFeatures

    return AnswerabilityFeatures(**r.features)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="append", default=[])
    ap.add_argument("--calibration", action="append", default=[], help="name=calibration.json of that train part")
    ap.add_argument("--trees", action="store_true", help="also gradient-boosted trees")
    ap.add_argument("--each", action="store_true", help="operating point: <= 5 %% false abstention on EACH dataset")
    ap.add_argument("--scalings", default="none,zscore,center,anchor")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    train = {k: load_records(p) for k, p in _pairs(args.train).items()}
    assert all(r.part == "train" for v in train.values() for r in v), "train parts only"
    cals = {k: CorpusCalibration.from_dict(json.loads(p.read_text())) for k, p in _pairs(args.calibration).items()}
    result: dict[str, Any] = {}
    logistic: Fitter = lambda d: fit(d, {}, CORE_NAMES)  # noqa: E731
    fitters: dict[str, Fitter] = {"logistic": logistic}
    if args.trees:
        from fit_trees import fit_trees

        fitters["trees"] = fit_trees
    if args.each:
        fitters = {f"{k}+each": _each(v) for k, v in fitters.items()}
    for scaling in args.scalings.split(","):
        if scaling != "none" and set(cals) != set(train):
            continue
        data = train if scaling == "none" else {k: on_corpus_scale(v, cals[k], scaling) for k, v in train.items()}
        for name, fitter in fitters.items():
            result[f"{name}/{scaling}"] = report(data, fitter)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    for key, rep in result.items():
        print(key, "thr", rep["threshold"], "auc", rep["auc"])
        for part in ("pooled", "cv"):
            print(
                "  ",
                part,
                {
                    k: (v["unanswerable_abstained"], v["answerable_false_abstention"], v.get("auc"))
                    for k, v in rep[part].items()
                },
            )
        for fk, fv in rep["transfer"].items():
            print(
                "  ",
                fk,
                {
                    k: (v["unanswerable_abstained"], v["answerable_false_abstention"])
                    for k, v in fv.items()
                    if isinstance(v, dict)
                },
            )


if __name__ == "__main__":
    main()
