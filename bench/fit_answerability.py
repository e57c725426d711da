"""Fit the answerability model on the FITTING parts only, and write the coefficients that ship in the package.

Input: per-question records from ``ragwright bench abstention --part train --records F.jsonl`` (XQuAD-en train
articles, SciFact train claims; the split rules are in ``src/ragwright/bench/abstention.py``). Nothing of a test part
is read when fitting or choosing the operating point.

- Model: L2-regularised logistic regression (IRLS in numpy, no training dependency) on standardised features, each
  coefficient constrained to its expected sign (``EXPECTED_SIGN``: wrong-signed ones are dropped one at a time);
  label 1 = the gold document is in the index. Answerable questions whose gold passage was not retrieved in the top 5
  are left out of the fit (the pipeline cannot answer them from what it retrieved); every dataset weighs the same.
- Operating point: the highest threshold at which at most 5 % of the fitting answerable questions whose gold passage
  was retrieved in the top 5 (XQuAD and SciFact pooled) are abstained on. (Asking it of *each* dataset instead drags
  the threshold down to what SciFact allows: XQuAD train abstention falls to 55 %; see docs/benchmarks.md.)

    python bench/fit_answerability.py --train xquad=rec/xquad-train.jsonl --train scifact=rec/scifact-train.jsonl \\
        --write src/ragwright/data/answerability.json
    python bench/fit_answerability.py ... --evaluate xquad=/tmp/rec/xquad-test.jsonl --lodo   # report, after the fit
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ragwright.answering.answerability import AnswerabilityModel, load_model, operating_point
from ragwright.answering.corpus_calibration import SCALINGS, CorpusCalibration, rescale
from ragwright.answering.features import ALIGNMENT_NAMES, FEATURE_NAMES, AnswerabilityFeatures
from ragwright.bench.abstention import QuestionResult, summarise

MAX_FALSE_ABSTENTION = 0.05
L2 = 1.0
HAND_SET_SUPPORT = 0.35
# The direction each feature must push the probability (more support, coverage, score margin -> more answerable;
# missing rare terms, numbers, names or answer type -> less). A fitted coefficient of the wrong sign (collinear
# features trading off) is set to zero and the rest refitted, so the shipped model is monotone in every feature.
EXPECTED_SIGN = {
    "support_best": 1,
    "support_margin": 1,
    "similarity_best": 1,
    "coverage_best": 1,
    "bm25_top": 1,
    "bm25_gap": 1,
    "dense_top": 1,
    "dense_gap": 1,
    "rare_coverage": 1,
    "rare_coverage_gap": 1,
    "sentence_rare_coverage": 1,
    "rarest_found": 1,
    "missing_rare": -1,
    "numbers_missing": -1,
    "entities_missing": -1,
    "type_mismatch": -1,
    "phrase_coverage": 1,
    "sentence_phrase_coverage": 1,
    "names_missing": -1,
    "sentence_entities_missing": -1,
    "dense_standout": 1,
    "bm25_standout": 1,
    "align_mean": 1,
    "align_gap": 1,
    "align_rare_min": 1,
    "align_low_share": -1,
    "align_sentence": 1,
    "align_sentence_rare_min": 1,
    "aligned_type_missing": -1,
}
CORE_NAMES = tuple(n for n in FEATURE_NAMES if n not in ALIGNMENT_NAMES)
"""answerability-v2's features: everything but the late-interaction alignment."""
FEATURE_SETS = {"core": CORE_NAMES, "aligned": FEATURE_NAMES}


def load_records(path: Path) -> list[QuestionResult]:
    return [QuestionResult(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def matrix(records: list[QuestionResult], names: tuple[str, ...]) -> np.ndarray:
    return np.array([[float(r.features[n]) for n in names] for r in records], dtype=np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by Newton's method (IRLS); the intercept is not penalised."""
    n, d = x.shape
    xa = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(xa @ beta)))
        grad = xa.T @ (w * (p - y)) + penalty * beta
        hess = (xa * (w * p * (1 - p))[:, None]).T @ xa + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta[:-1], float(beta[-1])


def probabilities(
    model: AnswerabilityModel, records: list[QuestionResult], cal: CorpusCalibration | None = None
) -> np.ndarray:
    """The model's probability of each record (``cal``: the records' corpus self-calibration, for a model that
    reads features on its corpus's scale)."""
    return np.array([model.probability(AnswerabilityFeatures(**r.features), cal) for r in records])


def on_corpus_scale(
    records: list[QuestionResult], cal: CorpusCalibration, scaling: str, names: tuple[str, ...] = CORE_NAMES
) -> list[QuestionResult]:
    """The records with their core features on ``cal``'s corpus scale (the other features left out)."""
    out = []
    for r in records:
        u = rescale(cal, names, np.array([float(r.features[n]) for n in names]), scaling)
        feats: dict[str, Any] = {n: None for n in r.features}
        feats.update({n: float(v) for n, v in zip(names, u, strict=True)})
        feats["generator_declined"] = r.features.get("generator_declined")
        out.append(dataclasses.replace(r, features=feats))
    return out


def joint_operating_point(model: AnswerabilityModel, by_dataset: dict[str, list[QuestionResult]]) -> float:
    """Highest threshold keeping false abstention (answerable, gold in top 5, datasets pooled) ≤ 5 %."""
    pooled = [r for recs in by_dataset.values() for r in recs if r.answerable and r.gold_top5]
    return operating_point(list(probabilities(model, pooled)), MAX_FALSE_ABSTENTION)


def fit(
    by_dataset: dict[str, list[QuestionResult]], provenance: dict[str, Any], names: tuple[str, ...] = CORE_NAMES
) -> AnswerabilityModel:
    rows = {k: [r for r in v if not (r.answerable and not r.gold_top5)] for k, v in by_dataset.items()}
    x = np.vstack([matrix(v, names) for v in rows.values()])
    y = np.concatenate([[1.0 if r.answerable else 0.0 for r in v] for v in rows.values()])
    total = sum(len(v) for v in rows.values())
    w = np.concatenate([np.full(len(v), total / (len(rows) * len(v))) for v in rows.values()])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    active = list(range(len(names)))
    while True:
        sub, intercept = fit_logistic(z[:, active], y, w)
        wrong = [a for a, c in zip(active, sub, strict=True) if c * EXPECTED_SIGN[names[a]] < 0]
        if not wrong:
            break
        worst = min(wrong, key=lambda a: sub[active.index(a)] * EXPECTED_SIGN[names[a]])
        active.remove(worst)
    coef = np.zeros(len(names))
    coef[active] = sub
    model = AnswerabilityModel(names, mean, scale, coef, intercept, 0.5, provenance=provenance)
    threshold = joint_operating_point(model, by_dataset)
    return AnswerabilityModel(
        model.features, mean, scale, coef, intercept, threshold, model.declined_log_odds, provenance
    )


def evaluate(
    model: AnswerabilityModel, records: list[QuestionResult], cal: CorpusCalibration | None = None
) -> dict[str, Any]:
    p = probabilities(model, records, cal)
    redone = [
        QuestionResult(
            r.dataset,
            r.part,
            r.qid,
            r.answerable,
            bool(pi < model.threshold),
            float(pi),
            r.gold_top5,
            bool(pi >= model.threshold and r.best_evidence_gold),
            r.features,
            r.best_evidence_gold,
        )
        for r, pi in zip(records, p, strict=True)
    ]
    return summarise(redone)


def auc(model: AnswerabilityModel, records: list[QuestionResult], cal: CorpusCalibration | None = None) -> float | None:
    """Area under the ROC curve of the model's probability: answerable (gold retrieved in the top 5) against gold
    removed (ties count half)."""
    p = probabilities(model, records, cal)
    pos = np.array([pi for r, pi in zip(records, p, strict=True) if r.answerable and r.gold_top5])
    neg = np.array([pi for r, pi in zip(records, p, strict=True) if not r.answerable])
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return round(float(wins) / (len(pos) * len(neg)), 4)


def evaluate_hand_set_rule(records: list[QuestionResult], below: float = HAND_SET_SUPPORT) -> dict[str, Any]:
    """The rule the model replaced (abstain when the best support is under 0.35), on the same questions."""
    redone = [
        QuestionResult(
            r.dataset,
            r.part,
            r.qid,
            r.answerable,
            r.features["support_best"] < below,
            r.answerability,
            r.gold_top5,
            r.features["support_best"] >= below and r.best_evidence_gold,
            r.features,
            r.best_evidence_gold,
        )
        for r in records
    ]
    return summarise(redone)


def _pairs(items: list[str]) -> dict[str, Path]:
    return {k: Path(v) for k, v in (i.split("=", 1) for i in items)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="append", default=[], help="name=records.jsonl of a fitting part")
    ap.add_argument("--evaluate", action="append", default=[], help="name=records.jsonl to report on")
    ap.add_argument("--lodo", action="store_true", help="also fit on each fitting dataset alone (leave one out)")
    ap.add_argument("--features", choices=sorted(FEATURE_SETS), default="core", help="core: v2's; aligned: + alignment")
    ap.add_argument("--version", default="answerability-v2", help="the fitted model's version name")
    ap.add_argument("--baseline", type=Path, action="append", default=[], help="also evaluate this model file as it is")
    ap.add_argument("--calibration", action="append", default=[], help="name=corpus calibration of a --train part")
    ap.add_argument(
        "--evaluate-calibration", action="append", default=[], help="name=calibration of an --evaluate part"
    )
    ap.add_argument("--scaling", choices=SCALINGS, help="fit on features on each corpus's scale (needs --calibration)")
    ap.add_argument("--model", choices=("logistic", "trees"), default="logistic", help="trees: bench/fit_trees.py")
    ap.add_argument("--write", type=Path, help="write the fitted model here")
    ap.add_argument("--out", type=Path, help="write the report JSON here")
    args = ap.parse_args()
    train = {k: load_records(p) for k, p in _pairs(args.train).items()}
    assert all(r.part == "train" for recs in train.values() for r in recs), "fitting data must be train parts"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    provenance = {
        "version": args.version,
        "features": args.features,
        "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
        "fitted_on": {k: len(v) for k, v in train.items()},
        "method": "L2 logistic regression (IRLS, lambda=1) on standardised features, coefficients sign-constrained "
        "(wrong-signed ones dropped); answerable questions whose gold "
        "was not retrieved in the top 5 left out; datasets weighted equally",
        "operating_point": "highest threshold with <= 5% false abstention over the fitting answerable questions "
        "whose gold was retrieved in the top 5 (datasets pooled)",
        "split_rules": "src/ragwright/bench/abstention.py",
        "code_commit": commit,
        "generator_declined": "declined_log_odds is set by hand (-4), not fitted: no generator ran on the fitting data",
    }
    names = FEATURE_SETS[args.features]
    cals = {k: CorpusCalibration.from_dict(json.loads(p.read_text())) for k, p in _pairs(args.calibration).items()}
    test_cals = {
        k: CorpusCalibration.from_dict(json.loads(p.read_text())) for k, p in _pairs(args.evaluate_calibration).items()
    }

    def fitter(data: dict[str, list[QuestionResult]], prov: dict[str, Any]) -> AnswerabilityModel:
        if args.scaling:
            assert set(cals) >= set(data), "--scaling needs a --calibration of every --train part"
            data = {k: on_corpus_scale(v, cals[k], args.scaling, names) for k, v in data.items()}
            prov = {
                **prov,
                "corpus_scaling": f"features on each corpus's scale ({args.scaling}) from its "
                "pseudo-question self-calibration (ragwright.answering.corpus_calibration)",
            }
        if args.model == "trees":
            from fit_trees import fit_trees

            model = fit_trees(data, names)
            model = dataclasses.replace(model, provenance={**prov, **model.provenance, "version": prov["version"]})
        else:
            model = fit(data, prov, names)
        return dataclasses.replace(model, corpus_scaling=args.scaling)

    model = fitter(train, provenance)
    report: dict[str, Any] = {
        "model": model.to_dict(),
        "fit": {k: evaluate(model, v, cals.get(k)) for k, v in train.items()},
    }
    if args.write:
        args.write.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    tests = {k: load_records(p) for k, p in _pairs(args.evaluate).items()}
    report["test"] = {k: evaluate(model, v, test_cals.get(k)) for k, v in tests.items()}
    parts = (("train", train, cals), ("test", tests, test_cals))
    report["auc"] = {f"{k} {part}": auc(model, v, c.get(k)) for part, recs, c in parts for k, v in recs.items()}
    report["baseline"] = {}
    for path in args.baseline:
        base = load_model(path)
        report["baseline"][base.provenance.get("version", str(path))] = {
            "threshold": base.threshold,
            "fit": {k: evaluate(base, v, cals.get(k)) for k, v in train.items()},
            "test": {k: evaluate(base, v, test_cals.get(k)) for k, v in tests.items()},
            "auc": {f"{k} {part}": auc(base, v, c.get(k)) for part, recs, c in parts for k, v in recs.items()},
        }
    report["hand_set_rule_support_below_0.35"] = {
        f"{k} {part}": evaluate_hand_set_rule(v)
        for part, recs in (("train", train), ("test", tests))
        for k, v in recs.items()
    }
    if args.lodo:
        report["leave_one_dataset_out"] = {}
        for name in train:
            alone = fitter({name: train[name]}, {"version": f"lodo-{name}-only"})
            report["leave_one_dataset_out"][f"fit on {name} only"] = {
                "threshold": round(alone.threshold, 4),
                **{k: evaluate(alone, v, test_cals.get(k)) for k, v in tests.items()},
            }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
