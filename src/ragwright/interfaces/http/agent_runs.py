"""Agent runs as one key of the service may see and steer them: the rule the JSON routes and the web UI share.

A key reads a run of its own tenant started by a key whose tags its own cover (the job rule,
:meth:`~ragwright.service.access.TagScope.covers`: a run's tool outputs quote documents); any other run reads as
missing (:class:`~ragwright.errors.AgentRunNotFound`). Deciding on a paused run's calls needs the ``approve`` grant
(admin keys hold it) on top; the front door checks that before calling :func:`decide`.

Example::

    run = visible_run(state, key, run_id)
    runs = visible_runs(state, key, status=RunStatus.AWAITING_APPROVAL)
    after = await decide(state, key, run_id, [Decision("g1", approve=True)])   # runs on to its next pause or end
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from ragwright.agents.extract_tool import extract_tool
from ragwright.agents.fetch_tool import fetch_tool
from ragwright.agents.kb_tools import kb_tools
from ragwright.agents.mcp_tools import discover_mcp_tools
from ragwright.agents.records import Decision, RunStatus
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import native_tool_calls
from ragwright.agents.store import RunState
from ragwright.agents.tools import Toolbox
from ragwright.errors import AccessDenied, AgentRunNotFound
from ragwright.interfaces.http.state import ServiceState
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.service.access import TagScope
from ragwright.service.keys import ApiKey

__all__ = ["decide", "runner_for", "visible_run", "visible_runs"]


def _covers(key: ApiKey, run: RunState) -> bool:
    return key.scope.covers(TagScope(run.key.tags))


def visible_run(state: ServiceState, key: ApiKey, run_id: str) -> RunState:
    """The run, when ``key`` may read it; else :class:`AgentRunNotFound` (also for another tenant's)."""
    run = state.agent_runs.get_run(run_id, tenant=key.tenant) if len(run_id) <= 200 else None
    if run is None or not _covers(key, run):
        raise AgentRunNotFound(f"no agent run {run_id!r}")
    return run


def visible_runs(
    state: ServiceState, key: ApiKey, *, status: RunStatus | None = None, limit: int = 50
) -> list[RunState]:
    """``key``'s tenant's recent runs that it may read (of one ``status`` when given), newest first."""
    runs = state.agent_runs.list_runs(key.tenant, limit=limit, status=status)
    return [r for r in runs if _covers(key, r)]


async def runner_for(state: ServiceState, model: str, tenant: str, lease: ExitStack) -> AgentRunner:
    """A runner whose tools use the current index for as long as ``lease`` is open (the run may outlive a refresh),
    with the tools of the MCP servers configured for ``tenant``."""
    state.chat_model(model)  # only models GET /v1/models lists (UnknownModel otherwise)
    chat = state.gateway.relayed(model)
    servers = state.settings.agent.mcp_servers
    extra = await discover_mcp_tools(servers, tenant=tenant) if servers else []
    rw = lease.enter_context(state.pool.use())
    fetch = fetch_tool(state.settings.agent.fetch)  # None unless [agent.fetch] enables it with an allow-list
    builtin = [*kb_tools(RagTools(rw)), extract_tool(rw, model=model), *([fetch] if fetch else [])]
    tools = Toolbox.of([*builtin, *extra]).requiring_approval(state.settings.agent.require_approval)
    native = native_tool_calls(state.settings.agent, model)
    return AgentRunner(
        chat, tools, state.agent_runs, native_tools=native, prompts=rw.prompt_source, embedder=rw.embedder
    )


async def decide(state: ServiceState, key: ApiKey, run_id: str, decisions: Sequence[Decision]) -> RunState:
    """Apply ``key``'s decisions to a paused run and let it go on until it ends or pauses again; returns the run as
    it then stands. :class:`~ragwright.errors.AgentRunError` when it is not paused or a call id is not waiting."""
    if not key.allows("approve"):
        raise AccessDenied("deciding on an agent's paused calls needs the 'approve' grant")
    run = visible_run(state, key, run_id)
    with ExitStack() as lease:
        runner = await runner_for(state, run.model, run.tenant, lease)
        async for _ in runner.resume(run, list(decisions)):
            pass
    return run
