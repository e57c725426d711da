"""Pairwise preference between two runs' answers, judged in both orders per case (see :meth:`Judge.pairwise`).

Example::

    result = await pairwise_runs(load_run(base), load_run(new), judge)
    result.count("new"), result.count("base"), result.count("tie")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from ragwright.errors import GatewayError
from ragwright.evals.judge import Judge
from ragwright.evals.records import CaseRecord, EvalRun

__all__ = ["PairwiseCase", "PairwiseResult", "pairwise_runs"]

Verdict = Literal["new", "base", "tie", "error"]


@dataclass(frozen=True, slots=True)
class PairwiseCase:
    """The judge's preference on one case: ``new``, ``base``, ``tie`` or ``error``, and why."""

    id: str
    verdict: Verdict
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "verdict": self.verdict, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PairwiseResult:
    """Wins, ties and errors over the cases both runs answered, and each case's verdict."""

    judge: str
    per_case: list[PairwiseCase] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for c in self.per_case if c.verdict == verdict)

    def to_json(self, *, per_case: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "judge": self.judge,
            "cases": len(self.per_case),
            "new_wins": self.count("new"),
            "base_wins": self.count("base"),
            "ties": self.count("tie"),
            "errors": self.count("error"),
        }
        if per_case:
            out["per_case"] = [c.to_json() for c in self.per_case]
        return out


async def pairwise_runs(base: EvalRun, new: EvalRun, judge: Judge) -> PairwiseResult:
    """For every case both runs answered (abstentions included, as their text): which answer the judge prefers.

    A side wins a case only when the judge picks it in both orders; otherwise the case is a tie.
    """
    base_by_id = {r.id: r for r in base.cases if r.error is None}
    pairs = [(base_by_id[r.id], r) for r in new.cases if r.error is None and r.id in base_by_id]

    async def one(b: CaseRecord, n: CaseRecord) -> PairwiseCase:
        if b.answer == n.answer:
            return PairwiseCase(n.id, "tie", "identical answers")
        try:
            verdict, reason = await judge.pairwise(n.question, b.answer, n.answer)
        except (GatewayError, KeyError) as exc:
            return PairwiseCase(n.id, "error", str(exc))
        winner: Verdict = "base" if verdict == "1" else "new" if verdict == "2" else "tie"
        return PairwiseCase(n.id, winner, reason)

    return PairwiseResult(judge.name, list(await asyncio.gather(*(one(b, n) for b, n in pairs))))
