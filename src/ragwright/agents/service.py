"""An agent runner for one :class:`~ragwright.app.Ragwright`: its gateway, its knowledge-base tools, its run store.

The model is the process's one gateway (``rw.gateway``): calls run on the gateway's own loop, whatever loop drives the
run, so an agent shares connection pools, breakers, budgets, rate limits and the usage ledger with ``ask``.

Example::

    runner = agent_runner(rw)                       # [agent].model, or the first model of gateway.chain
    run = runner.new_run("Summarise the warranty terms", ToolContext(local_key("acme")), model=runner.model.name)
"""

from __future__ import annotations

from pathlib import Path

from ragwright.agents.extract_tool import extract_tool
from ragwright.agents.fetch_tool import fetch_tool
from ragwright.agents.kb_tools import kb_tools
from ragwright.agents.records import RunLimits
from ragwright.agents.runner import AgentRunner
from ragwright.agents.store import RunStore
from ragwright.agents.tools import AgentTool, Toolbox
from ragwright.app import Ragwright
from ragwright.config import AgentSettings, Settings
from ragwright.interfaces.mcp.tools import RagTools

__all__ = ["agent_model_name", "agent_runner", "default_limits", "runs_path"]


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


def agent_runner(
    rw: Ragwright,
    *,
    model: str | None = None,
    extra_tools: list[AgentTool] | None = None,
    store: RunStore | None = None,
) -> AgentRunner:
    """A runner over ``rw``'s gateway with the knowledge-base tools (plus ``extra_tools``)."""
    name = agent_model_name(rw.settings, model)
    chat = rw.gateway.relayed(name)  # calls run on the gateway's own loop, whatever loop drives the run
    fetch = fetch_tool(rw.settings.agent.fetch)  # None unless [agent.fetch] enables it with an allow-list
    builtin = [*kb_tools(RagTools(rw)), extract_tool(rw, model=name), *([fetch] if fetch else [])]
    tools = Toolbox.of([*builtin, *(extra_tools or [])]).requiring_approval(rw.settings.agent.require_approval)
    return AgentRunner(
        chat,
        tools,
        store or RunStore(runs_path(rw.settings)),
        native_tools=native_tool_calls(rw.settings.agent, name),
        prompts=rw.prompt_source,
        embedder=rw.embedder,
    )
