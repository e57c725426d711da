"""Research-agent metrics: claim citation precision, coverage of a reference answer, and trajectory efficiency.

A :class:`ResearchCase` is an agent case (:class:`~ragwright.evals.trajectory.AgentCase`: the task, the reference
searches, outcome texts) plus ``reference_facts``, the facts a complete answer states. For one research run:

- ``claim_citation_precision``: claims supported by a passage they cite (the check ``ask`` uses), over all claims;
- ``claims_kept``: claims supported by some passage of the run (cited or corrected), over all claims;
- ``coverage``: reference facts the report's kept claims support (the same check, with the claims as evidence), over
  the reference facts: a fact counts when the report states it, whatever the wording;
- ``not_found_honest``: 1 when the report lists something under "could not find" exactly when the case expects a
  gap (``expect_not_found``), else 0;
- the trajectory metrics (:func:`~ragwright.evals.trajectory.trajectory_scores`): search precision, recall and F1
  against the reference searches, wasted calls, steps, tool calls, tokens and cost.

Example::

    scores = research_scores(case, outcome, calls, embedder)
    scores["coverage"].value, scores["claim_citation_precision"].value, scores["tool_f1"].value
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from ragwright.agents.records import CallRecord
from ragwright.answering.sentences import split_sentences
from ragwright.answering.verify import EvidenceText, verify_offline
from ragwright.evals.scores import Score
from ragwright.evals.trajectory import AgentCase, trajectory_scores
from ragwright.models.base import Embedder
from ragwright.research.report import ClaimStatus
from ragwright.research.service import ResearchOutcome

__all__ = ["ResearchCase", "load_research_cases", "research_scores"]


class ResearchCase(AgentCase):
    """A research task: an agent case plus the facts a complete report states, and whether a gap is expected."""

    reference_facts: list[str] = Field(default_factory=list)
    knowledge_bases: list[str] = Field(default_factory=lambda: ["default"])
    expect_not_found: bool = False


def load_research_cases(path: Path) -> list[ResearchCase]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ResearchCase.model_validate_json(line) for line in lines if line.strip()]


def _coverage(facts: Sequence[str], claims: Sequence[str], embedder: Embedder | None) -> float:
    if not facts:
        return 1.0
    evidence = [
        EvidenceText(claim[s:e], passage=str(i)) for i, claim in enumerate(claims) for s, e in split_sentences(claim)
    ]
    if not evidence:
        return 0.0
    return sum(verify_offline([fact], evidence, embedder)[0].supported for fact in facts) / len(facts)


def research_scores(
    case: ResearchCase, outcome: ResearchOutcome, calls: Sequence[CallRecord], embedder: Embedder | None
) -> dict[str, Score]:
    """Every metric of the module docstring for one research run."""
    report = outcome.report
    claims = report.claims
    kept = [c for c in claims if c.status is not ClaimStatus.UNSUPPORTED]
    scores = trajectory_scores(case, outcome.run, calls)
    scores["claim_citation_precision"] = Score.of(report.citation_precision)
    scores["claims_kept"] = Score.of(len(kept) / len(claims) if claims else 0.0)
    scores["coverage"] = Score.of(_coverage(case.reference_facts, [c.text for c in kept], embedder))
    scores["not_found_honest"] = Score.of(1.0 if bool(report.not_found) == case.expect_not_found else 0.0)
    return scores
