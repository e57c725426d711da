"""Gradient-boosted trees over the answerability features, evaluated in numpy (fitted by ``bench/fit_trees.py``).

A tree is four parallel arrays over its nodes: ``feature`` (−1 at a leaf), ``threshold`` (go left when
``x[feature] <= threshold``; a missing value goes left), ``left``/``right`` (child node indices) and ``value`` (a
leaf's log-odds contribution). The model's log-odds is ``base + Σ tree(x)``.

Example::

    forest = TreeEnsemble.from_dict(json.loads(text))
    forest.log_odds_matrix(x)        # x: (n, len(forest.features))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ragwright.errors import UserError

__all__ = ["Tree", "TreeEnsemble"]


@dataclass(frozen=True)
class Tree:
    """One regression tree as parallel node arrays (see the module docstring)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(len(x), dtype=np.int64)
        for _ in range(len(self.feature)):
            inner = self.feature[node] >= 0
            if not inner.any():
                break
            rows = np.nonzero(inner)[0]
            at = node[rows]
            values = x[rows, self.feature[at]]
            go_left = ~(values > self.threshold[at])  # NaN goes left
            node[rows] = np.where(go_left, self.left[at], self.right[at])
        return np.asarray(self.value[node], dtype=np.float64)

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "feature": [int(v) for v in self.feature],
            "threshold": [round(float(v), 8) for v in self.threshold],
            "left": [int(v) for v in self.left],
            "right": [int(v) for v in self.right],
            "value": [round(float(v), 8) for v in self.value],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], n_features: int) -> Tree:
        feature = np.asarray(data["feature"], dtype=np.int64)
        left = np.asarray(data["left"], dtype=np.int64)
        right = np.asarray(data["right"], dtype=np.int64)
        arrays = [feature, np.asarray(data["threshold"], dtype=np.float64), left, right]
        arrays.append(np.asarray(data["value"], dtype=np.float64))
        n = len(feature)
        inner = feature >= 0
        if (
            n == 0
            or any(a.shape != (n,) for a in arrays)
            or np.any(feature >= n_features)
            or np.any(inner & ((left <= np.arange(n)) | (right <= np.arange(n)) | (left >= n) | (right >= n)))
        ):
            raise UserError("answerability trees: malformed tree (children must come after their parent)")
        return cls(*arrays)


@dataclass(frozen=True)
class TreeEnsemble:
    """Boosted trees: ``log_odds = base + Σ tree(x)`` over ``features``."""

    features: tuple[str, ...]
    base: float
    trees: tuple[Tree, ...]

    def log_odds_matrix(self, x: np.ndarray) -> np.ndarray:
        total = np.full(len(x), self.base, dtype=np.float64)
        for tree in self.trees:
            total += tree.predict(x)
        return total

    def used_features(self) -> set[str]:
        """The features some split reads."""
        return {self.features[int(f)] for t in self.trees for f in t.feature if f >= 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "base": round(self.base, 8),
            "trees": [t.to_dict() for t in self.trees],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeEnsemble:
        try:
            names = tuple(str(n) for n in data["features"])
            trees = tuple(Tree.from_dict(t, len(names)) for t in data["trees"])
            return cls(names, float(data["base"]), trees)
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"answerability trees are malformed: {exc!r}") from None
