"""Extraction metrics: field-level precision, recall and F1, and exact-document accuracy.

Each top-level field of a document is compared after :func:`normalise_value` (case, whitespace and surrounding
punctuation ignored; amounts compared as numbers, so ``"RM 9.00"`` equals ``"9.00"`` and ``"1,200.5"`` equals
``"1200.50"``). Per field of a document:

- a **true positive** when the prediction states a value and it equals the gold one;
- a **false positive** when the prediction states a value that is not the gold one (or the gold has none);
- a **false negative** when the gold has a value the prediction does not state correctly.

So a wrong value counts against both precision and recall, and ``null`` for a field the gold leaves empty counts
for nothing. A document is **exact** when every field matches (an empty field matching an empty one). Totals are
micro-averaged over all fields of all documents; :attr:`ExtractionScores.by_field` has the same per field.

Example::

    s = score_documents([({"total": "9.00", "date": "1/2/19"}, {"total": "RM9.00", "date": None})], ("total", "date"))
    s.precision, s.recall, s.exact   # 1.0, 0.5, 0.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Counts", "ExtractionScores", "normalise_value", "score_documents"]

_AMOUNT = re.compile(r"[^\d\-]{0,4}(-?\d[\d,]*(?:\.\d+)?|-?\.\d+)")


def normalise_value(value: Any) -> str | None:
    """A comparable form of ``value``; None for an empty one."""
    if value is None:
        return None
    text = " ".join(str(value).split()).casefold().strip(" .,;:")
    if not text:
        return None
    amount = _AMOUNT.fullmatch(text)
    if amount:
        try:
            return f"{float(amount.group(1).replace(',', '')):.2f}"
        except ValueError:
            return text
    return text


@dataclass
class Counts:
    """True positives, false positives and false negatives of one field (or of all)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class ExtractionScores:
    """Micro-averaged field scores, per-field scores and the share of documents extracted exactly."""

    n: int = 0
    total: Counts = field(default_factory=Counts)
    by_field: dict[str, Counts] = field(default_factory=dict)
    exact_documents: int = 0

    @property
    def precision(self) -> float:
        return self.total.precision

    @property
    def recall(self) -> float:
        return self.total.recall

    @property
    def f1(self) -> float:
        return self.total.f1

    @property
    def exact(self) -> float:
        return self.exact_documents / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            **self.total.to_dict(),
            "exact_document_accuracy": round(self.exact, 4),
            "by_field": {k: v.to_dict() for k, v in self.by_field.items()},
        }


def score_documents(
    pairs: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any]]], fields: Sequence[str]
) -> ExtractionScores:
    """Scores of ``(predicted, gold)`` pairs over ``fields`` (a prediction of None: nothing extracted)."""
    scores = ExtractionScores(by_field={f: Counts() for f in fields})
    for predicted, gold in pairs:
        scores.n += 1
        exact = True
        for name in fields:
            p = normalise_value((predicted or {}).get(name))
            g = normalise_value(gold.get(name))
            counts = scores.by_field[name]
            if p is not None and p == g:
                counts.tp += 1
                scores.total.tp += 1
                continue
            exact = exact and p == g
            if p is not None:
                counts.fp += 1
                scores.total.fp += 1
            if g is not None:
                counts.fn += 1
                scores.total.fn += 1
        scores.exact_documents += exact
    return scores
