from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ragwright.answering.answerability import AnswerabilityModel, shipped_model
from ragwright.answering.features import AnswerabilityFeatures
from ragwright.answering.trees import Tree, TreeEnsemble
from ragwright.errors import UserError

# x0 <= 0.5 ? (x1 <= 0.2 ? -1 : +1) : +2
TREE = {"feature": [0, 1, -1, -1, -1], "threshold": [0.5, 0.2, 0, 0, 0], "left": [1, 3, -1, -1, -1],
        "right": [2, 4, -1, -1, -1], "value": [0, 0, 2.0, -1.0, 1.0]}  # fmt: skip


def test_a_tree_routes_each_row_to_its_leaf_and_missing_values_go_left() -> None:
    tree = Tree.from_dict(TREE, n_features=2)
    x = np.array([[0.1, 0.1], [0.1, 0.9], [0.9, 0.0], [np.nan, np.nan], [0.5, 0.2]])
    assert tree.predict(x).tolist() == [-1.0, 1.0, 2.0, -1.0, -1.0]
    forest = TreeEnsemble(("a", "b"), 0.5, (tree, tree))
    assert forest.log_odds_matrix(x[:2]).tolist() == [-1.5, 2.5]
    again = TreeEnsemble.from_dict(forest.to_dict())
    assert again.log_odds_matrix(x).tolist() == forest.log_odds_matrix(x).tolist()
    assert forest.used_features() == {"a", "b"}


@pytest.mark.parametrize(
    "broken",
    [
        {**TREE, "feature": [0, 7, -1, -1, -1]},  # no such feature
        {**TREE, "left": [0, 3, -1, -1, -1]},  # a cycle
        {**TREE, "value": [0.0]},  # arrays of different lengths
        {k: v for k, v in TREE.items() if k != "right"},
    ],
)
def test_malformed_trees_are_refused(broken: dict[str, list[float]]) -> None:
    with pytest.raises(UserError):
        TreeEnsemble.from_dict({"features": ["a", "b"], "base": 0.0, "trees": [broken]})


def test_a_model_with_trees_uses_them_instead_of_its_coefficients() -> None:
    names = ("support_best", "bm25_top")
    forest = TreeEnsemble(names, 0.0, (Tree.from_dict(TREE, 2),))
    model = AnswerabilityModel(names, np.zeros(2), np.ones(2), np.array([9.0, 9.0]), 0.0, 0.5, trees=forest)
    feats = AnswerabilityFeatures(*([0.0] * 22))
    assert model.log_odds(replace(feats, support_best=0.9)) == pytest.approx(2.0)
    assert model.log_odds(replace(feats, bm25_top=0.9)) == pytest.approx(1.0)
    again = AnswerabilityModel.from_dict(model.to_dict())
    assert again.trees is not None and again.log_odds(feats) == pytest.approx(-1.0)
    other = {**model.to_dict(), "trees": {**forest.to_dict(), "features": ["bm25_top", "support_best"]}}
    with pytest.raises(UserError):
        AnswerabilityModel.from_dict(other)


def test_the_shipped_trees_are_stumps_read_no_alignment_and_separate_weak_from_strong() -> None:
    model = shipped_model("trees")
    assert model.trees is not None and not model.reads_alignment
    assert all(len(t.feature) == 3 for t in model.trees.trees)
    weak = AnswerabilityFeatures(*([0.1] * 22))
    strong = replace(weak, support_best=0.9, support_margin=0.6, bm25_standout=0.5, rare_coverage=1.0)
    assert model.probability(weak) < model.threshold < model.probability(strong)
