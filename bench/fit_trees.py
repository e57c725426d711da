"""Gradient-boosted trees for answerability, fitted in numpy on the FITTING parts only (no training dependency).

Second-order boosting of the logistic loss (XGBoost's split gain and leaf values, L2 ``LAMBDA``), depth-``DEPTH``
trees over each feature's quantile bins, shrinkage ``RATE``, ``ROUNDS`` rounds; the same rows and weights as
``fit_answerability.fit`` (answerable questions whose gold was not retrieved left out, each dataset weighing the same)
and the same pooled operating point (≤ 5 % false abstention among the fitting answerable questions with gold in the
top 5). Writes a model JSON that ``answer.answerability_model`` reads.

    python bench/fit_trees.py --train xquad=rec/xquad-train.jsonl --train scifact=rec/scifact-train.jsonl \\
        --write src/ragwright/data/answerability-trees.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from fit_answerability import CORE_NAMES, EXPECTED_SIGN, _pairs, joint_operating_point, load_records, matrix  # noqa: E402

from ragwright.answering.answerability import AnswerabilityModel  # noqa: E402
from ragwright.answering.trees import Tree, TreeEnsemble  # noqa: E402
from ragwright.bench.abstention import QuestionResult  # noqa: E402

ROUNDS = 150
DEPTH = 1
RATE = 0.1
LAMBDA = 5.0
MIN_HESSIAN = 3.0
BINS = 24


def _grow(
    xb: np.ndarray,
    edges: list[np.ndarray],
    signs: list[int],
    g: np.ndarray,
    h: np.ndarray,
    rows: np.ndarray,
    depth: int,
    nodes: list[Any],
) -> int:
    """Append the subtree over ``rows`` to ``nodes`` (feature, threshold, left, right, value); its index."""
    me = len(nodes)
    gs, hs = g[rows].sum(), h[rows].sum()
    nodes.append([-1, 0.0, -1, -1, -gs / (hs + LAMBDA)])
    if depth == 0 or len(rows) < 2:
        return me
    best = (0.0, -1, -1)
    parent = gs * gs / (hs + LAMBDA)
    for f in range(xb.shape[1]):
        gb = np.bincount(xb[rows, f], weights=g[rows], minlength=BINS)
        hb = np.bincount(xb[rows, f], weights=h[rows], minlength=BINS)
        gl, hl = np.cumsum(gb)[:-1], np.cumsum(hb)[:-1]
        ok = (hl >= MIN_HESSIAN) & (hs - hl >= MIN_HESSIAN)
        if signs[f]:  # monotone: the right (larger) side's value must move the expected way
            ok &= signs[f] * ((gl / (hl + LAMBDA)) - (gs - gl) / (hs - hl + LAMBDA)) >= 0
        gain = np.where(ok, gl**2 / (hl + LAMBDA) + (gs - gl) ** 2 / (hs - hl + LAMBDA) - parent, 0.0)
        b = int(np.argmax(gain))
        if gain[b] > best[0] and b < len(edges[f]):
            best = (float(gain[b]), f, b)
    if best[1] < 0:
        return me
    _, f, b = best
    go_left = xb[rows, f] <= b
    left = _grow(xb, edges, signs, g, h, rows[go_left], depth - 1, nodes)
    right = _grow(xb, edges, signs, g, h, rows[~go_left], depth - 1, nodes)
    nodes[me] = [f, float(edges[f][b]), left, right, 0.0]
    return me


def boost(x: np.ndarray, y: np.ndarray, w: np.ndarray, names: tuple[str, ...]) -> TreeEnsemble:
    """Boosted trees on raw features ``x`` (rows weighted ``w``, labels ``y``)."""
    edges = [np.unique(np.quantile(x[:, f], np.linspace(0, 1, BINS + 1)[1:-1])) for f in range(x.shape[1])]
    xb = np.stack([np.searchsorted(edges[f], x[:, f], side="left") for f in range(x.shape[1])], axis=1)
    signs = [EXPECTED_SIGN.get(n, 0) if DEPTH == 1 else 0 for n in names]
    prior = float(np.clip((w * y).sum() / w.sum(), 1e-6, 1 - 1e-6))
    base = float(np.log(prior / (1 - prior)))
    z = np.full(len(y), base)
    trees: list[Tree] = []
    rows = np.arange(len(y))
    for _ in range(ROUNDS):
        p = 1.0 / (1.0 + np.exp(-z))
        g, h = w * (p - y), w * p * (1 - p)
        nodes: list[Any] = []
        _grow(xb, edges, signs, g, h, rows, DEPTH, nodes)
        arr = np.array(nodes, dtype=np.float64)
        tree = Tree(
            arr[:, 0].astype(np.int64),
            arr[:, 1],
            arr[:, 2].astype(np.int64),
            arr[:, 3].astype(np.int64),
            RATE * arr[:, 4],
        )
        trees.append(tree)
        z += tree.predict(x)
    return TreeEnsemble(names, base, tuple(trees))


def fit_trees(by_dataset: dict[str, list[QuestionResult]], names: tuple[str, ...] = CORE_NAMES) -> AnswerabilityModel:
    rows = {k: [r for r in v if not (r.answerable and not r.gold_top5)] for k, v in by_dataset.items()}
    x = np.vstack([matrix(v, names) for v in rows.values()])
    y = np.concatenate([[1.0 if r.answerable else 0.0 for r in v] for v in rows.values()])
    total = sum(len(v) for v in rows.values())
    w = np.concatenate([np.full(len(v), total / (len(rows) * len(v))) for v in rows.values()])
    forest = boost(x, y, w, names)
    provenance = {
        "version": "answerability-trees",
        "method": f"gradient-boosted trees (numpy, {ROUNDS} rounds, depth {DEPTH}, rate {RATE}, lambda {LAMBDA}; "
        "depth 1 = stumps, each monotone in its feature's expected direction)",
        "fitted_on": {k: len(v) for k, v in by_dataset.items()},
    }
    d = len(names)
    model = AnswerabilityModel(
        names, x.mean(axis=0), np.ones(d), np.zeros(d), 0.0, 0.5, provenance=provenance, trees=forest
    )
    threshold = joint_operating_point(model, by_dataset)
    return AnswerabilityModel(
        names, model.mean, model.scale, model.coef, 0.0, threshold, provenance=provenance, trees=forest
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="append", default=[])
    ap.add_argument("--write", type=Path, required=True)
    args = ap.parse_args()
    train = {k: load_records(p) for k, p in _pairs(args.train).items()}
    assert all(r.part == "train" for v in train.values() for r in v), "fitting data must be train parts"
    model = fit_trees(train)
    args.write.write_text(json.dumps(model.to_dict(), indent=None) + "\n", encoding="utf-8")
    print(model.threshold, len(model.trees.trees) if model.trees else 0)


if __name__ == "__main__":
    main()
