"""Paused agent runs over MCP: list the calls waiting for a human, approve (with edited arguments) or deny them.

The rule is :mod:`ragwright.agents.approvals`, the one the HTTP routes and the web UI apply: a key sees the runs of
its tenant whose starter's tags its own cover, and deciding needs the ``approve`` grant (admin keys hold it). Both
tools need that grant here, so a read key's tool list does not change. A decision goes on with the run in this
process, through the same runner the CLI builds (the process's gateway, the knowledge-base tools, the tenant's MCP
servers), until it ends or pauses again; runs are the ones in ``<data_dir>/agents.sqlite``, shared with ``ragwright
serve`` and ``ragwright agent``: of two decisions that arrive together from anywhere, exactly one resumes the run.

Example::

    agents = AgentRuns(rw)
    await agents.pending(key, PendingApprovalsArgs())        # {"runs": [{"id": ..., "calls": [...]}]}
    await agents.decide(key, AgentDecideArgs(run_id="run_1", decisions=[DecisionIn(call_id="g1", approve=True)]))
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import ExitStack
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragwright.agents import approvals
from ragwright.agents.approvals import DecisionIn
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import runs_path, tenant_agent_runner
from ragwright.agents.store import RunState, RunStore
from ragwright.app import Ragwright
from ragwright.service.keys import ApiKey

log = logging.getLogger(__name__)


class PendingApprovalsArgs(BaseModel):
    """Arguments of the ``agent_pending_approvals`` tool."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="How many paused runs to return, newest first.")


class AgentDecideArgs(BaseModel):
    """Arguments of the ``agent_decide`` tool."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    run_id: str = Field(min_length=1, max_length=approvals.MAX_RUN_ID, description="A run from the pending list.")
    decisions: list[DecisionIn] = Field(
        min_length=1,
        max_length=50,
        description="One per waiting call: approve (optionally with edited arguments) or deny; for a call whose "
        "outcome is unknown, approve with 'outcome' saying what happened (it is never run again).",
    )


class AgentRuns:
    """The agent runs of one :class:`Ragwright` as MCP tools see them (the run store is opened on first use)."""

    def __init__(self, rw: Ragwright) -> None:
        self.rw = rw
        self._store: RunStore | None = None
        self._lock = threading.Lock()
        self._running: set[asyncio.Task[RunState]] = set()

    def store(self) -> RunStore:
        with self._lock:
            if self._store is None:
                self._store = RunStore(runs_path(self.rw.settings))
                self._store.recover()  # runs a dead process left running: paused, in-flight calls handed to a human
            return self._store

    async def pending(self, key: ApiKey, args: PendingApprovalsArgs) -> dict[str, Any]:
        return {"runs": approvals.pending_approvals(self.store(), key, limit=args.limit)}

    async def decide(self, key: ApiKey, args: AgentDecideArgs) -> dict[str, Any]:
        store = self.store()
        decisions = [d.decision() for d in args.decisions]
        # the run goes on to its next pause or end even if this tool call times out (a run cut off half-way would
        # stay "running" until this process ends); its state is in the store whatever happens to the caller
        task = asyncio.ensure_future(approvals.decide(store, key, args.run_id, decisions, self._runner))
        self._running.add(task)
        task.add_done_callback(self._finished)
        run = await asyncio.shield(task)
        return approvals.run_summary(store, run)

    async def _runner(self, run: RunState, lease: ExitStack) -> AgentRunner:
        return await tenant_agent_runner(self.rw, model=run.model, tenant=run.tenant, store=self.store())

    def _finished(self, task: asyncio.Task[RunState]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieved here: the caller may have gone
            log.debug("agent decision failed: %s", type(task.exception()).__name__)

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
