"""The wire-neutral half of the loopback provider servers: the deterministic echo "model" that decides what to say
to a request, and the replies a :class:`~ragwright.testing.loopback_http.Plan` decides alone (error statuses, wrong
content types, oversized bodies, broken streams). :mod:`ragwright.testing.openai_server` and
:mod:`ragwright.testing.anthropic_server` put them on their wire formats.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from ragwright.gateway.types import ToolCall, Usage
from ragwright.testing.loopback_http import Plan, Reply

_ids = itertools.count(1)


def next_id() -> int:
    """A process-wide counter for response, message and tool-call ids."""
    return next(_ids)


# -- the echo "model" ---------------------------------------------------------------------------------------------


def word_count(text: str) -> int:
    return len(text.split())


def example_args(schema: Any, text: str = "example") -> Any:
    """A value that fits a (simple) JSON schema: objects get their required properties, strings get ``text``."""
    if not isinstance(schema, dict):
        return text
    kind = schema.get("type")
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        wanted = schema.get("required") or list(props)
        return {name: example_args(props.get(name, {}), text) for name in wanted}
    if kind == "array":
        return [example_args(schema.get("items", {}), text)]
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(str(kind), text)


def as_json(text: str, schema: Any) -> str:
    try:
        json.loads(text)
        return text
    except json.JSONDecodeError:
        return json.dumps(example_args(schema, text) if schema else {"answer": text})


def split_words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def halves(text: str) -> list[str]:
    mid = len(text) // 2
    return [p for p in (text[:mid], text[mid:]) if p]


class Answer:
    """What the echo model says to one request: text, tool calls, usage, finish reason (wire-neutral)."""

    def __init__(self, plan: Plan, text: str, calls: tuple[ToolCall, ...], prompt_words: int) -> None:
        self.text = text
        self.calls = calls
        self.usage = plan.usage or Usage(
            input_tokens=prompt_words + 3,
            output_tokens=max(1, word_count(text) + sum(word_count(c.arguments) for c in calls)),
        )
        self.finish = plan.finish_reason or ("tool_calls" if calls else "stop")


def answer(
    plan: Plan,
    last_role: str,
    last_text: str,
    tools: list[tuple[str, Any]],
    forced: str | None,
    choice_none: bool,
    json_schema: Any,
    json_mode: bool,
    prompt_words: int,
) -> Answer:
    calls: tuple[ToolCall, ...] = plan.tool_calls
    if not calls and tools and not choice_none and last_role != "tool" and not json_mode:
        name, schema = next(((n, s) for n, s in tools if n == forced), tools[0])
        calls = (ToolCall(id=f"call_{next_id()}", name=name, arguments=json.dumps(example_args(schema))),)
    if plan.text is not None:
        text = plan.text
    elif calls:
        text = ""
    elif last_role == "tool":
        text = f"The tool returned: {last_text[:200]}"
    else:
        text = f"You said: {last_text[:200]}"
    if json_mode and not calls:
        text = as_json(text, json_schema)
    return Answer(plan, text, calls, prompt_words)


# -- replies decided by the plan ----------------------------------------------------------------------------------


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data).encode())


def early_reply(plan: Plan, error_body: bytes) -> Reply | None:
    """Replies decided by the plan alone: error statuses, wrong content types, oversized bodies."""
    if plan.status >= 400:
        return Reply(plan.status, error_body)
    if plan.content_type is not None:
        return Reply(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", content_type=plan.content_type)
    if plan.body_bytes is not None:
        pad = max(0, plan.body_bytes - 12)
        return Reply(200, b'{"pad": "' + b"x" * pad + b'"}')
    return None


def stream_faults(plan: Plan, events: list[bytes], error_event: bytes) -> list[bytes]:
    if plan.malformed:
        events = [b'data: {"choices": [{"delta": \n\n', *events[1:]]
    if plan.error_event_after is not None:
        events = [*events[: plan.error_event_after], error_event]
    if not plan.end_marker:
        markers = (b'"finish_reason":"', b"[DONE]", b'"choices":[],"usage"', b"message_delta", b"message_stop")
        events = [e for e in events if not any(m in e for m in markers)]
    return events
