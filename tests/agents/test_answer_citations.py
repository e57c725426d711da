"""Final agent answers carry citations checked like ``ask``'s: each sentence against what the tools returned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragwright.agents import AgentRunner, RunStore, Toolbox, ToolContext, agent_tool
from ragwright.agents.evidence import check_answer, collect_passages
from ragwright.gateway.types import Message, ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel, FakeEmbedder
from ragwright.testing.fake_chat import Reply


@agent_tool(description="Search the knowledge base.")
def search(ctx: ToolContext, query: str) -> dict[str, Any]:
    passages = [
        {"n": 1, "source": "warranty.md", "heading": "Warranty", "page": None,
         "text": "The kettle warranty lasts 3 years. It covers the heating element."},
        {"n": 2, "source": "care.md", "heading": "Care", "page": None,
         "text": "Descale the kettle every month with citric acid."},
    ]  # fmt: skip
    return {"query": query, "passages": passages}


async def test_the_final_answer_cites_what_supports_each_sentence(tmp_path: Path) -> None:
    answer = "The kettle warranty lasts 3 years [2]. Descale it every month with citric acid. It is made of gold."
    model = FakeChatModel([Reply(tool_calls=(ToolCall("c1", "search", json.dumps({"query": "kettle"})),)), answer])
    store = RunStore(tmp_path / "agents.sqlite")
    runner = AgentRunner(model, Toolbox.of([search]), store, embedder=FakeEmbedder())
    run = runner.new_run("Tell me about the kettle", ToolContext(local_key("acme")), model="fake:agent")
    events = [e async for e in runner.drive(run)]
    final = events[-1].data
    assert run.answer == answer  # the model's words are kept as they were
    # the model's own [2] was wrong: the citation is the passage that supports the sentence, numbered in the answer
    assert final["cited_answer"] == (
        "The kettle warranty lasts 3 years. [1] Descale it every month with citric acid. [2] It is made of gold."
    )
    assert [(c["n"], c["source"]) for c in final["citations"]] == [(1, "warranty.md"), (2, "care.md")]
    assert final["unsupported"] == ["It is made of gold."]
    again = store.get_run(run.id, tenant="acme")
    assert again is not None and again.cited_answer == run.cited_answer and again.citations == run.citations


async def test_an_answer_without_tool_output_is_left_alone(tmp_path: Path) -> None:
    runner = AgentRunner(FakeChatModel(["Hello."]), Toolbox.of([search]), RunStore(tmp_path / "a.sqlite"))
    run = runner.new_run("Hi", ToolContext(local_key("acme")), model="fake:agent")
    events = [e async for e in runner.drive(run)]
    assert "cited_answer" not in events[-1].data and run.cited_answer is None and run.citations == []


def test_passages_come_from_search_answer_and_get_document_outputs() -> None:
    calls = (ToolCall("a", "answer", "{}"), ToolCall("g", "get_document", "{}"), ToolCall("x", "shop__lookup", "{}"))
    outputs = [
        ("a", "answer", {"answer": "3 years [1]", "citations": [{"n": 1, "location": "w.md", "snippet": "3 years."}]}),
        ("g", "get_document", {"doc_id": "care.md", "title": "Care", "text": "Descale monthly.", "truncated": False}),
        ("x", "shop__lookup", "Order 17 shipped."),
    ]
    messages = [Message("assistant", None, tool_calls=calls)]
    for cid, name, out in outputs:
        body = out if isinstance(out, str) else json.dumps(out)
        messages.append(
            Message("tool", f"<<<TOOL OUTPUT b>>>\n{body}\n<<<END TOOL OUTPUT b>>>", tool_call_id=cid, name=name)
        )
    messages.append(Message("tool", "<<<TOOL OUTPUT c>>>\nERROR: boom\n<<<END TOOL OUTPUT c>>>", tool_call_id="z"))
    got = [(p.n, p.source, p.text) for p in collect_passages(messages)]
    assert got == [
        (1, "w.md", "3 years."),
        (2, "care.md", "Descale monthly."),
        (3, "shop__lookup", "Order 17 shipped."),
    ]
    assert check_answer("", messages, None) is None
