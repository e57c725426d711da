"""Judge rubrics: versioned prompt files in ``ragwright/prompts/`` and the JSON schema each reply must match.

A rubric's ``version`` is its declared version plus a hash of the file, so editing a prompt changes the judge cache
key (and the version recorded in every run) even if someone forgets to bump the number.

Example::

    rubric = RUBRICS["support"]
    rubric.version            # "support/v1#3f2a9c1d"
    rubric.render(evidence="...", claims="1. ...")
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from string import Template
from typing import Any

from ragwright.answering.injection_prompt import boundary, defuse

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
    """One judge prompt: its file, declared version, and the JSON schema its reply must satisfy."""

    name: str
    file: str
    declared: str
    schema: dict[str, Any]

    @cached_property
    def text(self) -> str:
        return resources.files("ragwright").joinpath(f"prompts/{self.file}").read_text(encoding="utf-8")

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:8]
        return f"{self.name}/{self.declared}#{digest}"

    def render(self, **values: str) -> str:
        """The prompt with ``values`` in place. Quoted text sits between ``<<<LABEL $boundary>>>`` fence lines, where
        the boundary is a hash of the values (:func:`ragwright.answering.injection_prompt.boundary`), so a document or
        an answer cannot close the fence early."""
        fence_id = boundary("\0".join(values[k] for k in sorted(values)))
        return Template(self.text).substitute({k: defuse(v) for k, v in values.items()}, boundary=fence_id)


RUBRICS: dict[str, Rubric] = {
    r.name: r
    for r in (
        Rubric(
            "claims",
            "judge_claims_v1.txt",
            "v1",
            {
                "type": "object",
                "properties": {"claims": {"type": "array", "items": {"type": "string"}}},
                "required": ["claims"],
                "additionalProperties": False,
            },
        ),
        Rubric("support", "judge_support_v1.txt", "v1", _VERDICTS),
        Rubric("citation", "judge_citation_v1.txt", "v1", _VERDICTS),
        Rubric(
            "relevance",
            "judge_relevance_v1.txt",
            "v1",
            {
                "type": "object",
                "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "reason": {"type": "string"}},
                "required": ["score", "reason"],
                "additionalProperties": False,
            },
        ),
        Rubric(
            "pairwise",
            "judge_pairwise_v1.txt",
            "v1",
            {
                "type": "object",
                "properties": {"winner": {"enum": ["A", "B", "tie"]}, "reason": {"type": "string"}},
                "required": ["winner", "reason"],
                "additionalProperties": False,
            },
        ),
    )
}


def prompt_versions() -> dict[str, str]:
    """Every rubric's version, recorded in each run."""
    return {name: r.version for name, r in RUBRICS.items()}
