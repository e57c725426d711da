"""The prompts shipped with ragwright (``ragwright/prompts/*.txt``): version 1 of each name in every tenant.

A tenant that has never changed a prompt is served these texts straight from the package (nothing is written on the
request path); its first ``create`` or ``label`` copies them into its own rows as version 1 (see
:mod:`ragwright.prompts.registry`). Their variables are the ones the text uses.

Example::

    packaged("condense").render(boundary="b1", history="...", question="And the price?")
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from ragwright.errors import PromptNotFound
from ragwright.prompts.model import PromptVersion
from ragwright.prompts.template import variables_of
from ragwright.redact import quote_id

__all__ = ["PACKAGED_FILES", "packaged", "packaged_names"]

PACKAGED_FILES: dict[str, str] = {
    "answer": "answer_system_v2.txt",
    "condense": "condense_v1.txt",
    "verify_judge": "verify_judge_v1.txt",
    "judge_claims": "judge_claims_v1.txt",
    "judge_support": "judge_support_v1.txt",
    "judge_citation": "judge_citation_v1.txt",
    "judge_relevance": "judge_relevance_v1.txt",
    "judge_pairwise": "judge_pairwise_v1.txt",
    "agent": "agent_system_v1.txt",
    "extract": "extract_system_v1.txt",
    "research_plan": "research_plan_v1.txt",
    "research_report": "research_report_v1.txt",
}
"""Prompt name -> packaged file. A name here always exists in every tenant."""


def packaged_names() -> tuple[str, ...]:
    return tuple(sorted(PACKAGED_FILES))


@cache
def packaged(name: str) -> PromptVersion:
    """Version 1 of ``name`` as shipped; :class:`PromptNotFound` for a name the package does not ship."""
    file = PACKAGED_FILES.get(name)
    if file is None:
        raise PromptNotFound(f"no prompt named {quote_id(name)}")
    text = resources.files("ragwright").joinpath(f"prompts/{file}").read_text(encoding="utf-8")
    return PromptVersion(name, 1, text, tuple(sorted(set(variables_of(text)))), note=f"packaged {file}", packaged=True)
