"""An agent runner for one :class:`~ragwright.app.Ragwright`: its gateway, its knowledge-base tools, its run store.

The model is the process's one gateway (``rw.gateway``): calls run on the gateway's own loop, whatever loop drives the
run, so an agent shares connection pools, breakers, budgets, rate limits and the usage ledger with ``ask``.

Every front door (the CLI, the HTTP routes, the MCP approval tools, the agent eval) builds its runner here, so a run
gets the same tools whichever door starts or resumes it: :func:`agent_tools` is the one place they are assembled.

Example::

    runner = agent_runner(rw)                       # [agent].model, or the first model of gateway.chain
    run = runner.new_run("Summarise the warranty terms", ToolContext(local_key("acme")), model=runner.model.name)
    runner = await tenant_agent_runner(rw, model=run.model, tenant="acme")   # plus acme's MCP servers' tools
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragwright.agents.extract_tool import extract_tool
from ragwright.agents.fetch_tool import fetch_tool
from ragwright.agents.kb_tools import kb_tools
from ragwright.agents.mcp_tools import discover_mcp_tools
from ragwright.agents.records import RunLimits
from ragwright.agents.runner import AgentRunner
from ragwright.agents.store import RunStore
from ragwright.agents.tools import AgentTool, Toolbox
from ragwright.app import Ragwright
from ragwright.config import AgentSettings, Settings
from ragwright.interfaces.mcp.tools import RagTools

__all__ = ["agent_model_name", "agent_runner", "agent_tools", "default_limits", "runs_path", "tenant_agent_runner"]


def runs_path(settings: Settings) -> Path:
    return settings.data_dir / "agents.sqlite"


def agent_model_name(settings: Settings, model: str | None = None) -> str:
    return model or settings.agent.model or settings.gateway.chain[0]


def native_tool_calls(agent: AgentSettings, model: str) -> bool:
    if agent.tool_calls == "auto":
        return not model.startswith("local:")
    return agent.tool_calls == "native"


def default_limits(agent: AgentSettings, max_usd: float | None = None, max_steps: int | None = None) -> RunLimits:
    return RunLimits(
        max_steps=max_steps or agent.max_steps,
        max_tool_calls=agent.max_tool_calls,
        max_tokens=agent.max_tokens,
        max_usd=max_usd if max_usd is not None else agent.max_usd,
        max_seconds=agent.max_seconds,
    )


def agent_tools(rw: Ragwright, *, model: str, extra_tools: Sequence[AgentTool] = ()) -> Toolbox:
    """An agent run's tools over ``rw``: the knowledge-base tools, ``extract`` (on ``model``), ``fetch`` when
    ``[agent.fetch]`` enables it, then ``extra_tools``; ``[agent].require_approval`` applied to all of them."""
    fetch = fetch_tool(rw.settings.agent.fetch)  # None unless [agent.fetch] enables it with an allow-list
    builtin = [*kb_tools(RagTools(rw)), extract_tool(rw, model=model), *([fetch] if fetch else [])]
    return Toolbox.of([*builtin, *extra_tools]).requiring_approval(rw.settings.agent.require_approval)


def agent_runner(
    rw: Ragwright,
    *,
    model: str | None = None,
    extra_tools: Sequence[AgentTool] = (),
    store: RunStore | None = None,
) -> AgentRunner:
    """A runner over ``rw``'s gateway with :func:`agent_tools` (plus ``extra_tools``)."""
    name = agent_model_name(rw.settings, model)
    chat = rw.gateway.relayed(name)  # calls run on the gateway's own loop, whatever loop drives the run
    return AgentRunner(
        chat,
        agent_tools(rw, model=name, extra_tools=extra_tools),
        store or RunStore(runs_path(rw.settings)),
        native_tools=native_tool_calls(rw.settings.agent, name),
        prompts=rw.prompt_source,
        embedder=rw.embedder,
    )


async def tenant_agent_runner(
    rw: Ragwright, *, model: str | None, tenant: str, store: RunStore | None = None
) -> AgentRunner:
    """:func:`agent_runner` with the tools of the MCP servers ``[agent.mcp_servers]`` lends ``tenant`` (none
    configured: none, and nothing is started)."""
    extra = await discover_mcp_tools(rw.settings.agent.mcp_servers, tenant=tenant)
    return agent_runner(rw, model=model, extra_tools=extra, store=store)
