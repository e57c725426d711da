"""Paused agent runs as one API key may see and decide them: the rule every front door applies (HTTP, MCP, web UI,
``ragwright agent resume``).

A key reads a run of its own tenant started by a key whose tags its own cover (the job rule,
:meth:`~ragwright.service.access.TagScope.covers`: a run's tool outputs quote documents); any other run reads as
missing (:class:`~ragwright.errors.AgentRunNotFound`). Deciding on a paused run's calls needs the ``approve`` grant
(admin keys hold it) on top (:class:`~ragwright.errors.AccessDenied`). How a front door builds the runner that goes
on with the run (its gateway, its index, the tenant's MCP servers) is its own affair: it passes ``runner_for``.

Example::

    waiting = pending_approvals(store, key)                 # runs of this key's tenant paused for a human
    run = await decide(store, key, run_id, [Decision("g1", approve=True)], runner_for)   # to its next pause or end
    run = await decide(store, key, run_id, decisions, runner_for, on_event=print)      # each event as it happens
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragwright.agents.records import AgentEvent, CallStatus, Decision, RunStatus
from ragwright.agents.runner import AgentRunner
from ragwright.agents.store import RunState, RunStore
from ragwright.errors import AccessDenied, AgentRunNotFound
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.keys import ApiKey

__all__ = [
    "DecisionIn",
    "RunnerFor",
    "check_may_decide",
    "decide",
    "pending_approvals",
    "run_summary",
    "visible_run",
    "visible_runs",
]

RunnerFor = Callable[[RunState, ExitStack], Awaitable[AgentRunner]]
"""Builds the runner that goes on with ``run``; what it holds (an index lease) stays open until the ExitStack closes."""

MAX_RUN_ID = 200


class DecisionIn(BaseModel):
    """One decision on a paused call, as a front door receives it (the HTTP body, an MCP tool's arguments)."""

    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=200)
    approve: bool
    arguments: dict[str, Any] | None = Field(None, description="Edited arguments (validated like the model's).")
    reason: str = Field("", max_length=2000)
    outcome: str | None = Field(None, max_length=20_000, description="For a call whose outcome is unknown.")

    def decision(self) -> Decision:
        return Decision(self.call_id, self.approve, self.arguments, self.reason, self.outcome)


def _covers(key: ApiKey, run: RunState) -> bool:
    return key.scope.covers(TagScope(run.key.tags))


def check_may_decide(key: ApiKey) -> None:
    """AccessDenied unless ``key`` holds the ``approve`` grant."""
    if not key.allows("approve"):
        raise AccessDenied("deciding on an agent's paused calls needs the 'approve' grant")


def visible_run(store: RunStore, key: ApiKey, run_id: str) -> RunState:
    """The run, when ``key`` may read it; else :class:`AgentRunNotFound` (also for another tenant's)."""
    run = store.get_run(run_id, tenant=key.tenant) if len(run_id) <= MAX_RUN_ID else None
    if run is None or not _covers(key, run):
        raise AgentRunNotFound(f"no agent run {quote_id(run_id)}")
    return run


def visible_runs(store: RunStore, key: ApiKey, *, status: RunStatus | None = None, limit: int = 50) -> list[RunState]:
    """``key``'s tenant's recent runs that it may read (of one ``status`` when given), newest first."""
    return [r for r in store.list_runs(key.tenant, limit=limit, status=status) if _covers(key, r)]


def run_summary(store: RunStore, run: RunState) -> dict[str, Any]:
    """A run as a front door shows it: status, answer, usage, limits and every call; never its conversation, the
    starter's key or the owning process."""
    data = run.to_dict()
    for private in ("messages", "key", "owner"):
        data.pop(private)
    data["key_id"] = run.key.key_id
    data["calls"] = [c.to_dict() for c in store.calls(run.id)]
    return data


def pending_approvals(store: RunStore, key: ApiKey, *, limit: int = 50) -> list[dict[str, Any]]:
    """The runs ``key`` may read that wait for a human, newest first, each with the calls waiting for a decision
    (``pending_approval``: approve, deny or edit; ``unknown``: say what happened, never re-run)."""
    out = []
    for run in visible_runs(store, key, status=RunStatus.AWAITING_APPROVAL, limit=limit):
        waiting = [
            {"call_id": c.call_id, "name": c.name, "arguments": c.arguments, "status": c.status.value, "step": c.step}
            for c in store.calls(run.id)
            if c.status in (CallStatus.PENDING_APPROVAL, CallStatus.UNKNOWN)
        ]
        out.append({"id": run.id, "task": run.task, "model": run.model, "created_at": run.created_at, "calls": waiting})
    return out


async def decide(
    store: RunStore,
    key: ApiKey,
    run_id: str,
    decisions: Sequence[Decision],
    runner_for: RunnerFor,
    *,
    on_event: Callable[[AgentEvent], None] | None = None,
) -> RunState:
    """Apply ``key``'s decisions to a paused run and let it go on until it ends or pauses again; returns the run as
    it then stands, and hands each event to ``on_event`` as it happens. :class:`~ragwright.errors.AgentRunError` when
    it is not paused, a call id is not waiting or edited arguments do not validate (nothing is changed then)."""
    check_may_decide(key)
    run = visible_run(store, key, run_id)
    with ExitStack() as lease:
        runner = await runner_for(run, lease)
        async for event in runner.resume(run, list(decisions)):
            if on_event is not None:
                on_event(event)
    return run
