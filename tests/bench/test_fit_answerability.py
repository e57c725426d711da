"""bench/fit_answerability.py on synthetic per-question records: a sign-constrained fit, its operating point, and the
hand-set rule it is compared with."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

from ragwright.answering.features import FEATURE_NAMES
from ragwright.bench.abstention import QuestionResult

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
fit_answerability = importlib.import_module("fit_answerability")


def _records(dataset: str, n: int, seed: int) -> list[QuestionResult]:
    """Answerable questions have higher support and phrase coverage, and fewer missing names, than gold-removed ones."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        answerable = i % 3 != 0
        shift = 0.25 if answerable else -0.25
        feats = {name: float(rng.random()) for name in FEATURE_NAMES}
        feats |= {
            "support_best": float(np.clip(0.5 + shift + rng.normal(0, 0.1), 0, 1)),
            "phrase_coverage": float(np.clip(0.5 + shift + rng.normal(0, 0.2), 0, 1)),
            "names_missing": float(answerable is False and rng.random() < 0.7),
        }
        out.append(QuestionResult(dataset, "train", f"{dataset}{i}", answerable, False, 0.0, True, False, feats, True))
    return out


def test_fit_is_sign_constrained_and_its_operating_point_keeps_false_abstention_low() -> None:
    train = {"a": _records("a", 150, 0), "b": _records("b", 90, 1)}
    model = fit_answerability.fit(train, {"version": "test"})
    coef = dict(zip(model.features, model.coef, strict=True))
    assert all(coef[n] * fit_answerability.EXPECTED_SIGN[n] >= 0 for n in coef)
    assert coef["support_best"] > 0 and coef["names_missing"] <= 0
    pooled = [r for recs in train.values() for r in recs if r.answerable]
    abstained = sum(p < model.threshold for p in fit_answerability.probabilities(model, pooled))
    assert abstained <= 0.05 * len(pooled)
    report = fit_answerability.evaluate(model, train["a"])
    assert report["unanswerable_abstained"] > 0.5 and report["answerable_false_abstention"] <= 0.1


def test_the_aligned_feature_set_fits_the_alignment_features_too() -> None:
    train = {"a": _records("a", 150, 0)}
    model = fit_answerability.fit(train, {"version": "test"}, fit_answerability.FEATURE_SETS["aligned"])
    assert model.features == FEATURE_NAMES and model.features != fit_answerability.CORE_NAMES
    assert all(c * fit_answerability.EXPECTED_SIGN[n] >= 0 for n, c in zip(model.features, model.coef, strict=True))


def test_every_feature_has_an_expected_sign() -> None:
    assert set(fit_answerability.EXPECTED_SIGN) == set(FEATURE_NAMES)


def test_the_hand_set_rule_abstains_under_support_0_35() -> None:
    recs = _records("a", 30, 2)
    report = fit_answerability.evaluate_hand_set_rule(recs)
    no = [r for r in recs if not r.answerable]
    assert report["unanswerable_abstained"] == round(sum(r.features["support_best"] < 0.35 for r in no) / len(no), 4)
