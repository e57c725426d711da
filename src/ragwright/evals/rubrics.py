"""Judge rubrics: the JSON schema each reply must match, and the registry prompt each one renders.

The prompt texts are versions in the prompt registry (:mod:`ragwright.prompts`), named ``judge_<rubric>``; the packaged
``ragwright/prompts/judge_*_v1.txt`` are version 1. A version's ``tag`` (name, number and a hash of the text) is part
of the judge cache key and is recorded in every run, so a new version never reuses an old version's verdicts.

Example::

    rubric = RUBRICS["support"]
    prompt = default_registry().resolve("default", rubric.prompt_name)   # judge_support/v1#...
    rubric.render(prompt, evidence="...", claims="1. ...")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragwright.answering.injection_prompt import boundary, defuse
from ragwright.prompts.model import PromptVersion
from ragwright.prompts.registry import PromptSource

__all__ = ["RUBRICS", "Rubric"]

_VERDICTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "minimum": 1},
                    "supported": {"type": "boolean"},
                    "reason": {"type": "string"},
                },
                "required": ["index", "supported", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Rubric:
    """One judge rubric: its name, and the JSON schema its reply must satisfy."""

    name: str
    schema: dict[str, Any]

    @property
    def prompt_name(self) -> str:
        """Its prompt's name in the registry."""
        return f"judge_{self.name}"

    def render(self, prompt: PromptVersion, **values: str) -> str:
        """``prompt`` with ``values`` in place. Quoted text sits between ``<<<LABEL $boundary>>>`` fence lines, where
        the boundary is a hash of the values (:func:`ragwright.answering.injection_prompt.boundary`), so a document or
        an answer cannot close the fence early."""
        fence_id = boundary("\0".join(values[k] for k in sorted(values)))
        return prompt.render(**{k: defuse(v) for k, v in values.items()}, boundary=fence_id)


RUBRICS: dict[str, Rubric] = {
    r.name: r
    for r in (
        Rubric(
            "claims",
            {
                "type": "object",
                "properties": {"claims": {"type": "array", "items": {"type": "string"}}},
                "required": ["claims"],
                "additionalProperties": False,
            },
        ),
        Rubric("support", _VERDICTS),
        Rubric("citation", _VERDICTS),
        Rubric(
            "relevance",
            {
                "type": "object",
                "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "reason": {"type": "string"}},
                "required": ["score", "reason"],
                "additionalProperties": False,
            },
        ),
        Rubric(
            "pairwise",
            {
                "type": "object",
                "properties": {"winner": {"enum": ["A", "B", "tie"]}, "reason": {"type": "string"}},
                "required": ["winner", "reason"],
                "additionalProperties": False,
            },
        ),
    )
}


def prompt_versions(prompts: PromptSource, tenant: str) -> dict[str, str]:
    """Every rubric's prompt version (its tag), recorded in each run."""
    return {name: prompts.resolve(tenant, r.prompt_name).tag for name, r in RUBRICS.items()}
