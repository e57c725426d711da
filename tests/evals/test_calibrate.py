"""Judge calibration against human labels: accuracy and Cohen's kappa, with the scripted judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwright.errors import UserError
from ragwright.evals.calibrate import calibrate, cohen_kappa, load_labels
from ragwright.evals.judge import Judge
from ragwright.testing import FakeChatModel


def test_cohen_kappa_textbook_values() -> None:
    # 50 items: both yes 20, both no 15, human yes/judge no 5, human no/judge yes 10 -> po .7, pe .5, kappa .4
    human = ["y"] * 20 + ["n"] * 15 + ["y"] * 5 + ["n"] * 10
    judge = ["y"] * 20 + ["n"] * 15 + ["n"] * 5 + ["y"] * 10
    assert cohen_kappa(human, judge) == pytest.approx(0.4)
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # undefined, never NaN
    assert cohen_kappa([1, 2], [2, 1]) == pytest.approx(-1.0)


async def test_calibrate_reports_agreement_per_kind(tmp_path: Path, judge_model: FakeChatModel) -> None:
    ev = "The compressor is covered for ten years. Other parts are covered for five years."
    rows = [
        {
            "id": "s1",
            "kind": "support",
            "claim": "The compressor is covered for ten years.",
            "evidence": ev,
            "label": True,
        },
        {"id": "s2", "kind": "support", "claim": "Penguins built the compressor.", "evidence": ev, "label": False},
        # the human says supported (paraphrase); the word-overlap judge disagrees
        {
            "id": "s3",
            "kind": "support",
            "claim": "Parts other than the compressor have a five year warranty.",
            "evidence": ev,
            "label": True,
        },
        {
            "id": "s4",
            "kind": "support",
            "claim": "Other parts are covered for five years.",
            "evidence": ev,
            "label": True,
        },
        {
            "id": "r1",
            "kind": "relevance",
            "question": "How long is the compressor covered?",
            "answer": "The compressor is covered for ten years.",
            "label": 4,
        },
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = await calibrate(load_labels(path), Judge(judge_model))
    support = report["by_kind"]["support"]
    assert support["n"] == 4 and support["accuracy"] == 0.75
    # human T,F,T,T vs judge T,F,F,T: po .75, pe (3*2 + 1*2)/16 = .5 -> kappa .5
    assert support["kappa"] == pytest.approx(0.5)
    assert report["by_kind"]["relevance"] == {"n": 1, "accuracy": 1.0, "kappa": None}
    assert report["disagreements"] == [{"id": "s3", "kind": "support", "human": True, "judge": False}]
    assert report["overall"]["n"] == 5 and report["judge"] == "fake:judge"


def test_bad_labels_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "a", "kind": "vibes", "label": true}\n')
    with pytest.raises(UserError, match="labels.jsonl:1: kind"):
        load_labels(path)
