"""Tools of another MCP server (a small one written here, a real stdio subprocess, through the official client)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from ragwright.agents import AgentRunner, CallStatus, Decision, RunStatus, RunStore, Toolbox, ToolContext
from ragwright.agents.mcp_tools import discover_mcp_tools
from ragwright.config import McpServerSettings
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel
from ragwright.testing.fake_chat import Reply

SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mcp.server import MCPServer

    ledger = Path(sys.argv[1])
    server = MCPServer("shop")

    @server.tool()
    def lookup_order(order_id: str) -> str:
        \"\"\"The status of an order.\"\"\"
        if order_id == "missing":
            raise ValueError("no such order")
        return f"order {order_id}: shipped on 2 May"

    @server.tool()
    def refund(order_id: str, amount: float) -> str:
        \"\"\"Refund an order.\"\"\"
        with ledger.open("a") as f:
            f.write(f"{order_id} {amount}\\n")
        return f"refunded {amount} on {order_id}"

    server.run()
    """
)


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, McpServerSettings]:
    script = tmp_path / "shop.py"
    script.write_text(SERVER)
    server = McpServerSettings(
        command=[sys.executable, str(script), str(tmp_path / "refunds.log")],
        tenants=["acme"],
        read_only=["lookup_order"],
    )
    broken = McpServerSettings(command=[sys.executable, "-c", "raise SystemExit(3)"], tenants=["*"], timeout=10)
    return {"shop": server, "broken": broken}


async def test_discovery_is_per_tenant_and_survives_a_broken_server(shop: dict[str, McpServerSettings]) -> None:
    tools = {t.name: t for t in await discover_mcp_tools(shop, tenant="acme")}
    assert set(tools) == {"shop__lookup_order", "shop__refund"}
    assert not tools["shop__lookup_order"].needs_approval and tools["shop__refund"].needs_approval
    assert tools["shop__refund"].parse({"order_id": "A1", "amount": "lots"}).error == (
        "amount: 'lots' is not of type 'number'"
    )
    assert await discover_mcp_tools(shop, tenant="other") == []  # the shop serves acme only; broken is left out


def script(req: ChatRequest) -> Reply | str:
    results = [m.content or "" for m in req.messages if m.role == "tool"]
    steps = [
        ToolCall("l1", "shop__lookup_order", json.dumps({"order_id": "missing"})),
        ToolCall("l2", "shop__lookup_order", json.dumps({"order_id": "A1"})),
        ToolCall("r1", "shop__refund", json.dumps({"order_id": "A1", "amount": 12.5})),
    ]
    if len(results) < len(steps):
        return Reply(tool_calls=(steps[len(results)],))
    return "Refunded 12.5 on A1."


async def test_an_agent_uses_them_and_asks_before_a_side_effect(
    shop: dict[str, McpServerSettings], tmp_path: Path
) -> None:
    tools = await discover_mcp_tools(shop, tenant="acme")
    runner = AgentRunner(FakeChatModel(script), Toolbox.of(tools), RunStore(tmp_path / "a.sqlite"))
    run = runner.new_run("refund A1", ToolContext(local_key("acme")), model="fake:model")
    events = [e async for e in runner.drive(run)]
    results = [e.data for e in events if e.kind == "tool_result"]
    assert results[0]["status"] == "failed" and "Error executing tool lookup_order" in results[0]["output"]
    assert results[1]["status"] == "done" and "shipped on 2 May" in results[1]["output"]
    assert run.status is RunStatus.AWAITING_APPROVAL and not (tmp_path / "refunds.log").exists()
    [e async for e in runner.resume(run, [Decision("r1", approve=True)])]
    assert run.status is RunStatus.DONE and (tmp_path / "refunds.log").read_text() == "A1 12.5\n"
    assert [c.status for c in runner.store.calls(run.id)] == [CallStatus.FAILED, CallStatus.DONE, CallStatus.DONE]


def test_a_server_needs_exactly_one_transport() -> None:
    with pytest.raises(ValueError, match="exactly one of command"):
        McpServerSettings(tenants=["*"])
    with pytest.raises(ValueError, match="tenants"):
        McpServerSettings.model_validate({"url": "http://127.0.0.1:9/mcp", "tenants": []})
