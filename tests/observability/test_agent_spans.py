"""Agent runs in the tracing: each model step an ``invoke_agent step N`` span, each tool call ``execute_tool NAME``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.agents import AgentRunner, RunStore, Toolbox, ToolContext, agent_tool
from ragwright.gateway.types import ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel
from ragwright.testing.fake_chat import Reply


@agent_tool(description="Look up the stock of a product.")
def stock(ctx: ToolContext, product: str) -> dict[str, Any]:
    if product == "broken":
        raise RuntimeError("backend down")
    return {"product": product, "in_stock": 7}


async def test_steps_and_tool_calls_are_spans(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    script = [
        Reply(tool_calls=(ToolCall("c1", "stock", json.dumps({"product": "kettle"})),)),
        Reply(tool_calls=(ToolCall("c2", "stock", json.dumps({"product": "broken"})),)),
        "7 kettles.",
    ]
    runner = AgentRunner(FakeChatModel(script), Toolbox.of([stock]), RunStore(tmp_path / "a.sqlite"))
    run = runner.new_run("How many kettles?", ToolContext(local_key("acme")), model="fake:agent")
    [e async for e in runner.drive(run)]
    got = [(s.name, dict(s.attributes or {})) for s in spans.get_finished_spans()]
    names = [n for n, _ in got]
    assert names == [
        "invoke_agent step 1",
        "execute_tool stock",
        "invoke_agent step 2",
        "execute_tool stock",
        "invoke_agent step 3",
    ]
    tools = [a for n, a in got if n.startswith("execute_tool")]
    assert [t["ragwright.agent.call_status"] for t in tools] == ["done", "failed"]
    assert tools[0]["gen_ai.tool.call.id"] == "c1" and tools[0]["ragwright.agent.run_id"] == run.id
    assert tools[0]["gen_ai.operation.name"] == "execute_tool" and tools[0]["ragwright.tenant"] == "acme"
    steps = [a for n, a in got if n.startswith("invoke_agent")]
    assert [s["ragwright.agent.step"] for s in steps] == [1, 2, 3] and steps[0]["ragwright.tenant"] == "acme"
