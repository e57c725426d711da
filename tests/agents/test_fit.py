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
from ragwright.gateway.providers.local import LocalChatModel
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.models.generator import LocalGenerator
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


class WindowServer:
    """Stands in for llama.cpp's server (xllamacpp.Server) behind a real LocalGenerator and LocalChatModel: two
    characters a token (denser than the provider's four-character estimate, as Qwen's tokenizer is on ids and JSON),
    a context that holds the prompt and the reply, and a generation that stops when the context is full, with the
    finish reason and counts llama.cpp sends. The context is sized on the first prompt that carries the search result,
    so that result leaves about 30 tokens for the reply (the agent bench's a25 had about 40)."""

    ROOM = 30

    def __init__(self, generator: Any) -> None:
        self.generator = generator
        self.prompts: list[int] = []
        self.sized = False

    def handle_chat_completions(self, request: dict[str, Any], callback: Any) -> None:
        messages = request["messages"]
        prompt = sum(len(m["content"]) for m in messages) // 2
        self.prompts.append(prompt)
        searched = any(m["content"].startswith("Result of search") for m in messages)
        if searched and not self.sized:  # the provider's estimate (half this count) let this prompt through
            self.generator.n_ctx, self.sized = prompt + self.ROOM, True
        if prompt > self.generator.n_ctx:
            error = {"type": "exceed_context_size_error", "n_prompt_tokens": prompt, "n_ctx": self.generator.n_ctx}
            callback({"error": {**error, "message": "request exceeds the available context size"}})
            return
        reply = (
            {"thought": "I have the speed.", "tool": None, "arguments": {}, "final": "The Q4 restores at 280 MB/s."}
            if searched
            else {"thought": "Search first.", "tool": "search", "arguments": {"query": "Q4 restore"}, "final": None}
        )
        text = json.dumps(reply)
        tokens = [text[i : i + 2] for i in range(0, len(text), 2)]
        room = min(self.generator.n_ctx - prompt, request["max_tokens"])
        for token in tokens[:room]:
            if callback({"choices": [{"index": 0, "delta": {"content": token}}]}):
                return
        finish = "length" if len(tokens) > room else "stop"
        timings = {"cache_n": 0, "prompt_n": prompt, "predicted_n": min(room, len(tokens))}
        callback({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "timings": timings})


async def test_a_reply_the_full_window_cuts_off_is_not_taken_for_the_answer(tmp_path: Path) -> None:
    """The agent bench's a25 and a30: the prompt fitted, the window did not hold the reply, and the reply cut off
    mid-JSON (``{"``) became the run's final answer. The local model now says its window was too small (with its own
    token count), so the search output is cut and the model asked again."""
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    generator = LocalGenerator(gguf, n_ctx=WINDOW)
    server = WindowServer(generator)
    generator._server = server  # the real generator and provider code, over a stand-in for llama.cpp
    local = LocalChatModel("qwen-like", generator=generator, context_window=WINDOW)
    runner = AgentRunner(local, Toolbox.of([search]), RunStore(tmp_path / "agents.sqlite"), native_tools=False)
    run = runner.new_run("How fast does a Q4 restore over 2.5 GbE?", ToolContext(KEY), model=local.name)
    async for _ in runner.drive(run):
        pass
    assert run.status is RunStatus.DONE, run.error
    assert run.answer == "The Q4 restores at 280 MB/s."  # not '{"thought": "I have' or '{"'
    (tool,) = [m for m in run.messages if m.role == "tool"]
    assert CUT_NOTE in (tool.content or "")
    assert len(server.prompts) >= 3 and server.prompts[-1] < generator.n_ctx - 40  # asked again with room to answer
