"""The JSON fallback for models without native tool calls: what a small local model really writes."""

from __future__ import annotations

import json

from ragwright.agents.jsonmode import parse_json_reply

CALL = '{"thought": "find it", "tool": "search", "arguments": {"query": "recovery card"}, "final": null}'


def test_a_bare_json_object_is_a_tool_call() -> None:
    msg = parse_json_reply(CALL, 1)
    assert msg.tool_calls and msg.tool_calls[0].name == "search" and msg.tool_calls[0].id == "json_1"
    assert json.loads(msg.tool_calls[0].arguments) == {"query": "recovery card"}


def test_a_call_inside_prose_or_a_code_fence_is_still_a_tool_call() -> None:
    """Qwen2.5-Coder 1.5B wrapped its call like this in 5 of 8 held-out agent tasks, and each run ended at step 1 with
    the prose as its 'answer'."""
    for text in (
        f"To answer this question, I will use the search tool.\n\n```json\n{CALL}\n```",
        f"```json\n{CALL}\n```",
        f"Here's the step-by-step process:\n1. **Search**\n{CALL}\nThen I will answer.",
    ):
        msg = parse_json_reply(text, 2)
        assert msg.tool_calls and msg.tool_calls[0].name == "search", text


def test_prose_without_a_call_is_the_final_answer() -> None:
    text = 'The Q2 costs 349 US dollars (a {"note"} in braces is not a call).'
    msg = parse_json_reply(text, 3)
    assert not msg.tool_calls and msg.content == text
    final = parse_json_reply('```json\n{"thought": "done", "tool": null, "arguments": {}, "final": "349"}\n```', 4)
    assert not final.tool_calls and final.content == "349"
