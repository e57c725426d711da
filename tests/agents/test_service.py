"""One assembly of an agent run's tools: the HTTP service's runner and the library's (CLI, MCP) offer the same ones."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import agent_runner, tenant_agent_runner
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.http.agent_runs import runner_for
from ragwright.interfaces.http.state import ServiceState
from ragwright.testing import FakeChatModel, ScriptedGateway


def tools(runner: AgentRunner) -> dict[str, Any]:
    return {t.name: (t.side_effects, t.needs_approval, t.description) for t in runner.toolbox.tools.values()}


async def test_http_and_library_runners_assemble_the_same_tools(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        embedding={"model": "fake"},
        gateway={"ledger": False, "chain": ["fake:agent"]},
        agent={"require_approval": ["get_document"], "fetch": {"enabled": True, "allow": ["docs.python.org"]}},
    )
    state = ServiceState(settings, gateway=ScriptedGateway({"fake:agent": FakeChatModel(["done"], name="fake:agent")}))
    try:
        with ExitStack() as lease:
            served = await runner_for(state, "fake:agent", "acme", lease)
        with state.pool.use() as rw:
            library = agent_runner(rw, model="fake:agent", store=state.agent_runs)
            tenant = await tenant_agent_runner(rw, model="fake:agent", tenant="acme", store=state.agent_runs)
    finally:
        await state.aclose()
    assert tools(served) == tools(library) == tools(tenant)
    assert set(tools(served)) == {"search", "answer", "get_document", "extract", "fetch"}
    assert tools(served)["get_document"][1] is True  # [agent].require_approval applies to every front door
    assert served.native_tools == library.native_tools is True


def test_a_local_model_gets_json_tool_calls(tmp_path: Path) -> None:
    rw = Ragwright(load_settings(data_dir=tmp_path / "data", embedding={"model": "fake"}, gateway={"ledger": False}))
    try:
        runner = agent_runner(rw, model="local:qwen2.5-coder-1.5b")  # nothing is loaded until the first call
        assert runner.native_tools is False and "fetch" not in runner.toolbox.names()  # fetch is off by default
    finally:
        rw.close()
