"""Trajectory metrics for agent runs: did the agent call the right tools, in the right order, without waste, and
reach the goal?

An :class:`AgentCase` carries a task, the reference tool calls (a name and the arguments that matter) and a
deterministic reference outcome. A call *matches* a reference call when the names are equal and every reference
argument is found in the call's arguments (strings: case-insensitive containment, so ``{"query": "warranty"}`` matches
``{"query": "kettle warranty terms"}``; other values: equality). Matching is one-to-one, in order of the run.

Metrics, each a :class:`~ragwright.evals.scores.Score` in ``[0, 1]`` unless said otherwise, so the eval report,
``compare`` and ``gate`` treat them like any other:

- ``tool_precision``, ``tool_recall``, ``tool_f1``: over matched calls (refused calls count as calls made);
- ``tool_order``: the longest run of matched calls in reference order over the number of reference calls;
- ``wasted_calls`` (a count): calls that match no reference call, refused ones included;
- ``goal_success``: the run finished (``done``) and its answer contains every ``outcome.contains`` text and none of
  ``outcome.absent`` (case-insensitive); a judge is not needed for these deterministic checks;
- ``recovered``: for a case that injects a tool error, 1 when the goal was still reached after it;
- ``steps``, ``tool_calls``, ``tokens``, ``cost_usd``: what the run spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragwright.agents.records import CallRecord, RunStatus
from ragwright.agents.store import RunState
from ragwright.evals.scores import Score

__all__ = ["AgentCase", "Outcome", "RefCall", "matches", "trajectory_scores"]


class RefCall(BaseModel):
    """A tool call the task needs: the tool and the arguments that matter."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class Outcome(BaseModel):
    """What a successful run's answer says (deterministic checks, case-insensitive)."""

    model_config = ConfigDict(extra="forbid")

    contains: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)


class InjectedError(BaseModel):
    """Make the ``call``-th call (1-based) of ``tool`` fail, to measure recovery."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    call: int = Field(1, ge=1)


class AgentCase(BaseModel):
    """One agent task of a golden set (one JSON object per line of the cases file)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    task: str = Field(min_length=1)
    knowledge_base: str = "default"
    tags: list[str] = Field(default_factory=list)
    reference_calls: list[RefCall] = Field(default_factory=list)
    outcome: Outcome = Field(default_factory=Outcome)
    inject_error: InjectedError | None = None


def _arg_matches(want: Any, have: Any) -> bool:
    if isinstance(want, str) and isinstance(have, str):
        return want.casefold() in have.casefold()
    return bool(want == have)


def matches(call: CallRecord, ref: RefCall) -> bool:
    """Whether ``call`` is the reference call (same tool, every reference argument found)."""
    return call.name == ref.name and all(
        k in call.arguments and _arg_matches(v, call.arguments[k]) for k, v in ref.args.items()
    )


def _match(calls: Sequence[CallRecord], refs: Sequence[RefCall]) -> list[tuple[int, int]]:
    """One-to-one (call index, reference index) pairs, greedily in the run's order."""
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for i, call in enumerate(calls):
        for j, ref in enumerate(refs):
            if j not in used and matches(call, ref):
                used.add(j)
                pairs.append((i, j))
                break
    return pairs


def _longest_increasing(seq: list[int]) -> int:
    best: list[int] = []
    for x in seq:
        lo, hi = 0, len(best)
        while lo < hi:
            mid = (lo + hi) // 2
            if best[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(best):
            best.append(x)
        else:
            best[lo] = x
    return len(best)


def _goal(run: RunState, outcome: Outcome) -> bool:
    if run.status is not RunStatus.DONE:
        return False
    answer = (run.answer or "").casefold()
    return all(t.casefold() in answer for t in outcome.contains) and not any(
        t.casefold() in answer for t in outcome.absent
    )


def trajectory_scores(case: AgentCase, run: RunState, calls: Sequence[CallRecord]) -> dict[str, Score]:
    """Every metric of the module docstring for one finished (or stopped) run."""
    pairs = _match(calls, case.reference_calls)
    made, refs, hit = len(calls), len(case.reference_calls), len(pairs)
    precision = hit / made if made else (1.0 if not refs else 0.0)
    recall = hit / refs if refs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    order = _longest_increasing([j for _, j in pairs]) / refs if refs else 1.0
    goal = _goal(run, case.outcome)
    scores = {
        "tool_precision": Score.of(precision),
        "tool_recall": Score.of(recall),
        "tool_f1": Score.of(f1),
        "tool_order": Score.of(order),
        "wasted_calls": Score.of(float(made - hit)),
        "goal_success": Score.of(1.0 if goal else 0.0, "" if goal else _why_not(run)),
        "steps": Score.of(float(run.usage.steps)),
        "tool_calls": Score.of(float(run.usage.tool_calls)),
        "tokens": Score.of(float(run.usage.tokens)),
        "cost_usd": Score.of(run.usage.usd),
    }
    if case.inject_error is not None:
        scores["recovered"] = Score.of(1.0 if goal else 0.0)
    return scores


def _why_not(run: RunState) -> str:
    """Why a run missed its goal, in a line: the gateway's error, the limit that stopped it, or the answer it gave."""
    detail = run.error if run.status is RunStatus.FAILED and run.error else run.answer or ""
    if run.status is RunStatus.STOPPED and run.stop_reason is not None:
        detail = f"{run.stop_reason.value}; {detail}" if detail else run.stop_reason.value
    return f"run {run.status.value}: {detail}"[:200]
