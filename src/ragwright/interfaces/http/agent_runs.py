"""Agent runs as one key of the service may see and steer them: the HTTP service's side of
:mod:`ragwright.agents.approvals` (the rule the JSON routes, the web UI and the MCP server share).

A key reads a run of its own tenant started by a key whose tags its own cover; deciding on a paused run's calls needs
the ``approve`` grant on top. What is particular to the service is the runner: the model must be one ``GET
/v1/models`` lists, the tools use the current index for as long as the run goes on, and the tenant's MCP servers lend
theirs.

Example::

    run = visible_run(state, key, run_id)
    runs = visible_runs(state, key, status=RunStatus.AWAITING_APPROVAL)
    after = await decide(state, key, run_id, [Decision("g1", approve=True)])   # runs on to its next pause or end
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from ragwright.agents import approvals
from ragwright.agents.records import Decision, RunStatus
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import tenant_agent_runner
from ragwright.agents.store import RunState
from ragwright.interfaces.http.state import ServiceState
from ragwright.service.keys import ApiKey

__all__ = ["decide", "runner_for", "visible_run", "visible_runs"]


def visible_run(state: ServiceState, key: ApiKey, run_id: str) -> RunState:
    """The run, when ``key`` may read it; else :class:`AgentRunNotFound` (also for another tenant's)."""
    return approvals.visible_run(state.agent_runs, key, run_id)


def visible_runs(
    state: ServiceState, key: ApiKey, *, status: RunStatus | None = None, limit: int = 50
) -> list[RunState]:
    """``key``'s tenant's recent runs that it may read (of one ``status`` when given), newest first."""
    return approvals.visible_runs(state.agent_runs, key, status=status, limit=limit)


async def runner_for(state: ServiceState, model: str, tenant: str, lease: ExitStack) -> AgentRunner:
    """A runner whose tools use the current index for as long as ``lease`` is open (the run may outlive a refresh),
    with the tools of the MCP servers configured for ``tenant``."""
    state.chat_model(model)  # only models GET /v1/models lists (UnknownModel otherwise)
    rw = lease.enter_context(state.pool.use())  # the pool's instances share the service's one gateway
    return await tenant_agent_runner(rw, model=model, tenant=tenant, store=state.agent_runs)


async def decide(state: ServiceState, key: ApiKey, run_id: str, decisions: Sequence[Decision]) -> RunState:
    """Apply ``key``'s decisions to a paused run and let it go on until it ends or pauses again
    (:func:`ragwright.agents.approvals.decide` with this service's runner)."""

    async def runner(run: RunState, lease: ExitStack) -> AgentRunner:
        return await runner_for(state, run.model, run.tenant, lease)

    return await approvals.decide(state.agent_runs, key, run_id, decisions, runner)
