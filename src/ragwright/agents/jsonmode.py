"""Tool calls for models without native tool calling: the model answers in JSON that names a tool or the answer.

The request lists the tools (name, description, argument schema) in a second system message and asks for a JSON
object ``{"thought": ..., "tool": name or null, "arguments": {...}, "final": text or null}`` through the gateway's
``response_format`` (a JSON Schema where the provider enforces one). Earlier tool calls and results are replayed as
plain assistant/user text, since such models may not accept ``tool`` messages. A reply that is not that JSON becomes
a final answer made of its text, so a model that ignores the format still ends the run instead of looping.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ragwright.agents.tools import Toolbox
from ragwright.gateway.types import ChatRequest, Message, RequestContext, ResponseFormat, ToolCall

__all__ = ["REPLY_SCHEMA", "json_request", "parse_json_reply"]

REPLY_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "tool": {"type": ["string", "null"]},
        "arguments": {"type": "object"},
        "final": {"type": ["string", "null"]},
    },
    "required": ["tool", "arguments", "final"],
}


def _tools_text(toolbox: Toolbox) -> str:
    lines = [
        "You call tools by replying with one JSON object and nothing else:",
        '{"thought": "...", "tool": "<tool name>", "arguments": {...}, "final": null}',
        'and you give the final answer with {"thought": "...", "tool": null, "arguments": {}, "final": "<answer>"}.',
        "The tools:",
    ]
    for tool in toolbox.tools.values():
        lines.append(f"- {tool.name}: {tool.description} Arguments (JSON Schema): {json.dumps(tool.schema())}")
    return "\n".join(lines)


def _replay(messages: Sequence[Message]) -> list[Message]:
    out: list[Message] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            c = m.tool_calls[0]
            reply = {"thought": m.content or "", "tool": c.name, "arguments": json.loads(c.arguments), "final": None}
            out.append(Message("assistant", json.dumps(reply)))
        elif m.role == "tool":
            out.append(Message("user", f"Result of {m.name} (call {m.tool_call_id}):\n{m.content}"))
        else:
            out.append(m)
    return out


def json_request(
    model: str, system: Message, messages: Sequence[Message], toolbox: Toolbox, ctx: RequestContext
) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(system, Message("system", _tools_text(toolbox)), *_replay(messages)),
        response_format=ResponseFormat(json_schema=REPLY_SCHEMA, name="agent_step"),
        context=ctx,
    )


def parse_json_reply(text: str, step: int) -> Message:
    """The reply as an assistant message: one tool call (id ``json_<step>``), or the final answer."""
    data = _reply_object(text)
    if data is None:
        return Message("assistant", text.strip())
    tool, final = data.get("tool"), data.get("final")
    if isinstance(tool, str) and tool:
        args = data.get("arguments")
        arguments = json.dumps(args if isinstance(args, dict) else {})
        thought = data.get("thought")
        return Message(
            "assistant",
            thought if isinstance(thought, str) and thought else None,
            tool_calls=(ToolCall(f"json_{step}", tool, arguments),),
        )
    return Message("assistant", final if isinstance(final, str) else text.strip())


def _reply_object(text: str) -> dict[str, object] | None:
    """The reply's JSON object: the whole text, or else the first object in it that has the format's ``tool`` or
    ``final`` key (small models wrap it in prose or a Markdown code fence despite being told not to)."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return whole
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            found, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            found = None
        if isinstance(found, dict) and ("tool" in found or "final" in found):
            return found
        start = text.find("{", start + 1)
    return None
