"""Calibrated answerability: the probability that the indexed documents hold the answer, from the evidence features.

A logistic regression over :class:`~ragwright.answering.features.AnswerabilityFeatures` (standardised), fitted
offline by ``bench/fit_answerability.py`` on XQuAD-en train articles and SciFact train claims where the unanswerable
questions are those whose gold document was removed from the index ("related but absent"). Its coefficients and the
operating point ship in ``ragwright/data/answerability.json``; applying it needs numpy only. ragwright abstains when
the probability is under the operating point (``answer.min_answerability`` overrides it; ``ragwright eval
calibrate-abstention`` re-fits it on your own golden set).

Example::

    model = shipped_model()
    p = model.probability(features)      # 0..1
    abstain = p < model.threshold
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ragwright.answering.corpus_calibration import SCALINGS, CorpusCalibration, rescale
from ragwright.answering.features import ALIGNMENT_NAMES, FEATURE_NAMES, AnswerabilityFeatures
from ragwright.answering.trees import TreeEnsemble
from ragwright.errors import UserError

__all__ = ["SHIPPED_VERSIONS", "AnswerabilityModel", "load_model", "operating_point", "resolve_model", "shipped_model"]

MODEL_FILE = "answerability.json"
SHIPPED_VERSIONS = ("v2", "v3", "trees", "calibrated")
"""Earlier or alternative models that ship beside the default, as ``data/answerability-<version>.json``."""


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardise, weigh, squash: ``sigmoid(coef · (x − mean) / scale + intercept)``."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    """The operating point: abstain when the probability is under it."""
    declined_log_odds: float = -4.0
    """Added to the log-odds when the generator replied NOT IN DOCUMENTS. Set by hand, not fitted: the fitting data
    has no generator output (see the JSON's provenance)."""
    provenance: dict[str, Any] = field(default_factory=dict)
    trees: TreeEnsemble | None = None
    """Boosted trees that replace the linear part (``coef``) when set (``bench/fit_trees.py``)."""
    corpus_scaling: str | None = None
    """When set (one of ``SCALINGS``), features are first put on the corpus's own scale from its self-calibration
    (:mod:`ragwright.answering.corpus_calibration`), as they were when the model was fitted."""

    @property
    def reads_alignment(self) -> bool:
        """Whether a nonzero coefficient reads a late-interaction alignment feature (then the asker computes them)."""
        if self.trees is not None:
            return any(n in ALIGNMENT_NAMES for n in self.trees.used_features())
        return any(n in ALIGNMENT_NAMES and c != 0 for n, c in zip(self.features, self.coef, strict=True))

    def log_odds(self, features: AnswerabilityFeatures, calibration: CorpusCalibration | None = None) -> float:
        x = features.vector() if self.features == FEATURE_NAMES else _select(features, self.features)
        if self.corpus_scaling is not None and calibration is not None:
            x = rescale(calibration, self.features, x, self.corpus_scaling)
        x = np.where(np.isnan(x), self.mean, x)  # a feature not computed (no token embedder) counts as average
        if self.trees is not None:
            z = float(self.trees.log_odds_matrix(x[None, :])[0])
        else:
            z = float(self.coef @ ((x - self.mean) / self.scale)) + self.intercept
        if features.generator_declined:
            z += self.declined_log_odds
        return z

    def probability(self, features: AnswerabilityFeatures, calibration: CorpusCalibration | None = None) -> float:
        z = self.log_odds(features, calibration)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "coef": [round(float(v), 8) for v in self.coef],
            "intercept": round(self.intercept, 8),
            "threshold": round(self.threshold, 6),
            "declined_log_odds": self.declined_log_odds,
            "provenance": self.provenance,
            **({"trees": self.trees.to_dict()} if self.trees is not None else {}),
            **({"corpus_scaling": self.corpus_scaling} if self.corpus_scaling is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerabilityModel:
        try:
            names = tuple(str(n) for n in data["features"])
            unknown = [n for n in names if n not in FEATURE_NAMES]
            if unknown:
                raise UserError(f"answerability model names unknown features: {unknown}")
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (len(names),) for a in arrays) or np.any(arrays[1] <= 0):
                raise UserError("answerability model: mean, scale and coef must have one value per feature")
            trees = TreeEnsemble.from_dict(data["trees"]) if "trees" in data else None
            if trees is not None and trees.features != names:
                raise UserError("answerability model: its trees read other features than the model")
            scaling = data.get("corpus_scaling")
            if scaling is not None and scaling not in SCALINGS:
                raise UserError(f"answerability model: corpus_scaling must be one of {SCALINGS}")
            return cls(
                features=names,
                mean=arrays[0],
                scale=arrays[1],
                coef=arrays[2],
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                declined_log_odds=float(data.get("declined_log_odds", -4.0)),
                provenance=dict(data.get("provenance", {})),
                trees=trees,
                corpus_scaling=scaling,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"answerability model is malformed: {exc!r}") from None


def operating_point(answerable_probs: Sequence[float], max_false_abstention: float) -> float:
    """The highest threshold at which at most ``max_false_abstention`` of these answerable cases fall under it
    (abstention is ``probability < threshold``)."""
    ordered = sorted(answerable_probs)
    if not ordered:
        raise UserError("choosing an operating point needs answerable cases")
    return float(ordered[int(math.floor(max_false_abstention * len(ordered)))])


def _select(features: AnswerabilityFeatures, names: tuple[str, ...]) -> np.ndarray:
    return np.array(
        [float("nan") if (v := getattr(features, n)) is None else float(v) for n in names], dtype=np.float64
    )


def load_model(path: Path) -> AnswerabilityModel:
    try:
        return AnswerabilityModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read answerability model {path}: {exc}") from None


@lru_cache(maxsize=4)
def shipped_model(version: str | None = None) -> AnswerabilityModel:
    """The default model that ships in the package, or the shipped one of ``version`` (read once per process)."""
    if version is not None and version not in SHIPPED_VERSIONS:
        raise UserError(f"no shipped answerability model {version!r}: one of {', '.join(SHIPPED_VERSIONS)}")
    name = MODEL_FILE if version is None else f"answerability-{version}.json"
    text = resources.files("ragwright").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return AnswerabilityModel.from_dict(json.loads(text))


def resolve_model(choice: str | None) -> AnswerabilityModel:
    """``answer.answerability_model``: None for the default, a shipped version (``SHIPPED_VERSIONS``) or a model
    file's path (written by ``bench/fit_answerability.py --write``)."""
    if choice is None or choice in SHIPPED_VERSIONS:
        return shipped_model(choice)
    return load_model(Path(choice))
