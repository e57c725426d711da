"""A process killed while a tool runs: the call's outcome is unknown, a human decides, and it never runs again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ragwright.agents import AgentRunner, CallStatus, Decision, RunStatus, RunStore, Toolbox, agent_tool
from ragwright.agents.tools import ToolContext
from ragwright.testing import FakeChatModel

CHILD = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from pathlib import Path
    from ragwright.agents import AgentRunner, RunStore, Toolbox, agent_tool
    from ragwright.agents.tools import ToolContext
    from ragwright.gateway.types import ToolCall
    from ragwright.interfaces.mcp.access import local_key
    from ragwright.testing import FakeChatModel
    from ragwright.testing.fake_chat import Reply

    data = Path(sys.argv[1])

    @agent_tool(description="Pay an invoice.", side_effects=True)
    def pay(ctx: ToolContext, invoice: str) -> str:
        with open(data / "payments.log", "a") as f:
            f.write(invoice + "\\n")
        os._exit(9)  # killed after the side effect, before its outcome is recorded

    model = FakeChatModel([Reply(tool_calls=(ToolCall("c1", "pay", json.dumps({"invoice": "INV-7"})),))])
    runner = AgentRunner(model, Toolbox.of([pay]), RunStore(data / "agents.sqlite"))
    run = runner.new_run("pay INV-7", ToolContext(local_key("acme")), model="fake:model")
    print(run.id, flush=True)

    async def main():
        async for _ in runner.drive(run):
            pass

    asyncio.run(main())
    """
)


@agent_tool(description="Pay an invoice.", side_effects=True)
def pay(ctx: ToolContext, invoice: str) -> str:
    raise AssertionError("a call whose outcome is unknown must never run again")


async def test_killed_mid_call_is_handed_to_a_human_never_rerun(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    run_id = proc.stdout.split()[0]
    assert (tmp_path / "payments.log").read_text() == "INV-7\n"

    store = RunStore(tmp_path / "agents.sqlite")
    assert store.recover() == [run_id]
    run = store.get_run(run_id)
    assert run is not None and run.status is RunStatus.AWAITING_APPROVAL
    [rec] = store.calls(run_id)
    assert rec.status is CallStatus.UNKNOWN

    runner = AgentRunner(FakeChatModel(["Paid INV-7."]), Toolbox.of([pay]), store)
    events = [e async for e in runner.resume(run, [Decision("c1", approve=True, outcome="paid, confirmation 42")])]
    assert run.status is RunStatus.DONE and events[-1].kind == "final"
    assert store.calls(run_id)[0].status is CallStatus.DONE
    assert "paid, confirmation 42" in (runner.model.requests[0].messages[-1].content or "")  # type: ignore
    assert (tmp_path / "payments.log").read_text() == "INV-7\n"  # exactly once
    assert store.recover() == []  # nothing left to recover
