"""Pairwise preference between two runs' answers, judged in both orders per case (see :meth:`Judge.pairwise`).

Example::

    result = await pairwise_runs(load_run(base), load_run(new), judge)
    result["new_wins"], result["base_wins"], result["ties"]
"""

from __future__ import annotations

import asyncio
from typing import Any

from ragwright.errors import GatewayError
from ragwright.evals.judge import Judge

__all__ = ["pairwise_runs"]


async def pairwise_runs(base: dict[str, Any], new: dict[str, Any], judge: Judge) -> dict[str, Any]:
    """For every case both runs answered (abstentions included, as their text): which answer the judge prefers.

    A side wins a case only when the judge picks it in both orders; otherwise the case is a tie.
    """
    base_by_id = {r["id"]: r for r in base["cases"] if "error" not in r}
    pairs = [(base_by_id[r["id"]], r) for r in new["cases"] if "error" not in r and r["id"] in base_by_id]

    async def one(b: dict[str, Any], n: dict[str, Any]) -> dict[str, Any]:
        if b["answer"] == n["answer"]:
            return {"id": n["id"], "verdict": "tie", "reason": "identical answers"}
        try:
            verdict, reason = await judge.pairwise(n["question"], b["answer"], n["answer"])
        except (GatewayError, KeyError) as exc:
            return {"id": n["id"], "verdict": "error", "reason": str(exc)}
        return {"id": n["id"], "verdict": {"1": "base", "2": "new"}.get(verdict, "tie"), "reason": reason}

    cases = await asyncio.gather(*(one(b, n) for b, n in pairs))
    count = {v: sum(1 for c in cases if c["verdict"] == v) for v in ("new", "base", "tie", "error")}
    return {
        "judge": judge.name,
        "cases": len(cases),
        "new_wins": count["new"],
        "base_wins": count["base"],
        "ties": count["tie"],
        "errors": count["error"],
        "per_case": cases,
    }
