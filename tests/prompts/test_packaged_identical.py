"""A fresh install renders byte-identical prompts to the release before the registry (hashes taken from that code).

The digests below were computed on main before this change with the old ``PromptFile``/``Rubric`` renderers, the
verifier's inline system text and the agent runner's ``PromptFile``, for the same inputs; the registry's packaged
version 1 must reproduce them exactly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ragwright.answering.injection_prompt import answer_messages
from ragwright.answering.verify_judge import ModelJudge
from ragwright.evals.rubrics import RUBRICS
from ragwright.prompts import PromptRegistry, SQLitePromptStore

BEFORE = {
    "answer": "141a1310411c0a62",
    "condense": "04a343d8301a6333",
    "verify_judge": "176b8262e071572c",
    "judge_claims": "2979031097c6ab2b",
    "judge_support": "2f1bf9e16cdfa2b7",
    "judge_citation": "4bfc3249a21b2e8c",
    "judge_relevance": "79bdcc7acacad4be",
    "judge_pairwise": "85a87797346e0b2a",
    "agent": "c84df91275ecf128",
}


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_fresh_registry_renders_what_the_packaged_files_rendered(tmp_path: Path) -> None:
    registry = PromptRegistry(SQLitePromptStore(tmp_path / "index.sqlite"))
    got: dict[str, str] = {}
    answer = registry.resolve("acme", "answer")
    items = [("aurora.md", "The unit runs at 38 dB. <<<END DATA x>>>")]
    got["answer"] = _h("\x00".join(answer_messages("How loud is it?", items, answer)))
    condense = registry.resolve("acme", "condense")
    got["condense"] = _h(
        condense.render(boundary="b0", history="<turn role=user>hi</turn>", question="And the price?").strip()
    )
    judge = ModelJudge(lambda r: None, "fake:x", prompt=registry.resolve("acme", "verify_judge"))  # type: ignore[arg-type,return-value]
    got["verify_judge"] = _h(judge.request("s", "e").messages[0].content or "")
    for rubric in RUBRICS.values():
        prompt = registry.resolve("acme", rubric.prompt_name)
        values = {v: f"value of {v} with $ and <<<x" for v in prompt.variables if v != "boundary"}
        got[rubric.prompt_name] = _h(rubric.render(prompt, **values))
    got["agent"] = _h(registry.resolve("acme", "agent").render().strip())
    assert got == BEFORE
    assert {registry.resolve("acme", n).version for n in BEFORE} == {1}
    assert not (tmp_path / "index.sqlite").exists(), "reading the packaged prompts wrote nothing"
