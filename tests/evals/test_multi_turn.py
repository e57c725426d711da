"""A multi-turn eval case: its history reaches the answer pipeline, so the follow-up is retrieved in context."""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.evals.dataset import load_cases
from ragwright.evals.runner import run_eval

SAMPLES = Path(__file__).resolve().parents[2] / "examples/sample-docs"
HISTORY = [
    {"role": "user", "content": "What does the Quillfin Vault warranty cover?"},
    {"role": "assistant", "content": "The Quillfin Vault Q2 has a 2-year limited hardware warranty. [1]"},
]


async def test_a_case_with_history_is_asked_as_a_follow_up(settings: Settings, tmp_path: Path) -> None:
    rw = Ragwright(settings)
    rw.ingest([SAMPLES])
    (tmp_path / "cases.jsonl").write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                {"id": "follow-up", "question": "Which parts are not?", "history": HISTORY, "tags": ["multi-turn"]},
                {"id": "alone", "question": "Which parts are not?"},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    cases = load_cases(tmp_path / "cases.jsonl")
    assert [len(c.history) for c in cases] == [2, 0] and cases[0].turns[0].role == "user"
    run = await run_eval(cases, rw=rw, out=tmp_path / "run.json", concurrency=1)
    rw.close()
    records = {r.id: r for r in run.cases}
    assert "does not cover" in records["follow-up"].answer
    assert "does not cover" not in records["alone"].answer  # the same words without the conversation
