"""A conversation longer than the model's window: the longest tool output gives way, the model is asked again.

The scripted model plays a 2,048-token model that counts four characters a token (as the ``local:`` provider's check
does) and refuses a longer request with the gateway's ContextLengthExceeded, as the agent bench's Qwen run did after
a search with five passages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragwright.agents import AgentRunner, RunStatus, RunStore, Toolbox, ToolContext, agent_tool
from ragwright.agents.fit import CUT_NOTE, FIT_ATTEMPTS
from ragwright.errors import ContextLengthExceeded
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel
from ragwright.testing.fake_chat import Reply

KEY = local_key("acme", scopes=("read",))
WINDOW = 2048
PASSAGE = "The Q4 restores at 280 MB/s over 2.5 GbE. " * 140  # about 5,900 characters, 1,480 tokens at 4 a token


@agent_tool(description="Search the documents.")
def search(ctx: ToolContext, query: str) -> str:
    return PASSAGE


def small_model(refuse_always: bool = False) -> Any:
    def reply(request: ChatRequest) -> Reply | str | ContextLengthExceeded:
        tokens = sum(len(m.content or "") for m in request.messages) // 4 + 256
        if tokens > WINDOW or refuse_always and any(m.role == "tool" for m in request.messages):
            return ContextLengthExceeded("too long", provider="fake:small", tokens=tokens, limit=WINDOW)
        if not any(m.role == "tool" for m in request.messages):
            return Reply(tool_calls=(ToolCall("s1", "search", json.dumps({"query": "Q4 restore speed"})),))
        return "The Q4 restores at 280 MB/s over 2.5 GbE."

    return reply


def agent(tmp_path: Path, model: FakeChatModel) -> AgentRunner:
    return AgentRunner(model, Toolbox.of([search]), RunStore(tmp_path / "agents.sqlite"))


async def test_a_tool_output_too_long_for_the_window_is_cut_and_the_model_asked_again(tmp_path: Path) -> None:
    model = FakeChatModel(small_model(), name="fake:small")
    runner = agent(tmp_path, model)
    run = runner.new_run(
        "How fast does a Q4 restore over 2.5 GbE? " + "Be precise. " * 40, ToolContext(KEY), model="fake:small"
    )
    async for _ in runner.drive(run):
        pass
    assert run.status is RunStatus.DONE, run.error
    assert run.answer == "The Q4 restores at 280 MB/s over 2.5 GbE."
    (tool,) = [m for m in run.messages if m.role == "tool"]
    assert CUT_NOTE in (tool.content or "") and len(tool.content or "") < len(PASSAGE)
    assert (tool.content or "").rstrip().endswith(">>>")  # the fence still closes: the output is still data
    assert runner.store.calls(run.id)[0].output == PASSAGE  # the call's record keeps all of it
    stored = runner.store.get_run(run.id)
    assert stored is not None and CUT_NOTE in (next(m for m in stored.messages if m.role == "tool").content or "")
    refused = len(model.requests) - 2  # one plan, one answer; the rest were refused and cut
    assert 1 <= refused <= FIT_ATTEMPTS


async def test_a_model_that_refuses_whatever_is_cut_fails_the_run_after_a_few_tries(tmp_path: Path) -> None:
    model = FakeChatModel(small_model(refuse_always=True), name="fake:small")
    runner = agent(tmp_path, model)
    run = runner.new_run("How fast does a Q4 restore?", ToolContext(KEY), model="fake:small")
    async for _ in runner.drive(run):
        pass
    assert run.status is RunStatus.FAILED and "ContextLengthExceeded" in (run.error or "")
    assert len(model.requests) <= 1 + 1 + FIT_ATTEMPTS
