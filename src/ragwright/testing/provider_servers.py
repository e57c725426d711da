"""Loopback servers that play OpenAI (``/v1/chat/completions``, ``/v1/models``) and Anthropic (``/v1/messages``),
with a scriptable queue of faults: for the gateway's tests and benchmarks, real HTTP on 127.0.0.1, port 0.

Each request takes the next queued :class:`~ragwright.testing.loopback_http.Plan` (or the server's ``default``).
Without a scripted text the server behaves like a small deterministic model: it echoes the last user message, calls
the first offered tool (or the one ``tool_choice`` names) unless the last message is a tool result, and answers a JSON
response format with an object that fits the schema. Faults are ready-made plans:

=========================  ==============================================================================
``rate_limited(2)``        429 with ``Retry-After: 2``
``server_error(503)``      500/502/503 (any status)
``overloaded()``           529, Anthropic's "overloaded"
``hang()``                 reads the request, never answers (a read timeout)
``slow_first_token(s)``    stream headers at once, the first event after ``s`` seconds
``cut_stream(n)``          aborts the connection after ``n`` stream events
``malformed_json()``       a body (or first event) that is not JSON
``wrong_content_type()``   200 with ``text/html``
``oversized(n)``           a body (or stream line) of ``n`` bytes
``context_length_error()`` the provider's context-length 400
``content_filtered()``     finish_reason ``content_filter`` (OpenAI) / stop_reason ``refusal`` (Anthropic)
``drop_connection()``      closes the connection without a response
``closed_port_url()``      a URL with no listener (connection refused)
=========================  ==============================================================================

Example::

    with OpenAIServer() as server:
        server.enqueue(rate_limited(1.5), Plan(text="ok", usage=Usage(1000, 400, 300, 100)))
        model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, api_key="sk-test")
        ...
        assert server.request_count == 2
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

from ragwright.gateway.types import ToolCall, Usage
from ragwright.testing.loopback_http import LoopbackServer, Plan, Received, Reply, closed_port_url, sse

__all__ = [
    "AnthropicServer",
    "OpenAIServer",
    "Plan",
    "closed_port_url",
    "content_filtered",
    "context_length_error",
    "cut_stream",
    "drop_connection",
    "hang",
    "malformed_json",
    "overloaded",
    "oversized",
    "rate_limited",
    "server_error",
    "slow_first_token",
    "wrong_content_type",
]

_ids = itertools.count(1)


# -- fault vocabulary ---------------------------------------------------------------------------------------------


def rate_limited(retry_after: float | str | None = 1, **kw: Any) -> Plan:
    value = None if retry_after is None else (retry_after if isinstance(retry_after, str) else f"{retry_after:g}")
    return Plan(status=429, error_code="rate_limit", retry_after=value, **kw)


def server_error(status: int = 500, **kw: Any) -> Plan:
    return Plan(status=status, **kw)


def overloaded(**kw: Any) -> Plan:
    return Plan(status=529, error_code="overloaded", **kw)


def hang() -> Plan:
    return Plan(hang=True)


def slow_first_token(seconds: float, **kw: Any) -> Plan:
    return Plan(first_token_delay=seconds, **kw)


def cut_stream(after_events: int, **kw: Any) -> Plan:
    return Plan(cut_after=after_events, **kw)


def malformed_json(**kw: Any) -> Plan:
    return Plan(malformed=True, **kw)


def wrong_content_type(content_type: str = "text/html; charset=utf-8", **kw: Any) -> Plan:
    return Plan(content_type=content_type, **kw)


def oversized(nbytes: int = 17 * 1024 * 1024, *, declare_length: bool = True) -> Plan:
    return Plan(body_bytes=nbytes, declare_length=declare_length)


def context_length_error() -> Plan:
    return Plan(status=400, error_code="context_length_exceeded")


def content_filtered() -> Plan:
    return Plan(finish_reason="content_filter")


def drop_connection() -> Plan:
    return Plan(drop=True)


# -- the echo "model" ---------------------------------------------------------------------------------------------


def _words(text: str) -> int:
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


def _as_json(text: str, schema: Any) -> str:
    try:
        json.loads(text)
        return text
    except json.JSONDecodeError:
        return json.dumps(example_args(schema, text) if schema else {"answer": text})


def _split(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def _halves(text: str) -> list[str]:
    mid = len(text) // 2
    return [p for p in (text[:mid], text[mid:]) if p]


class _Answer:
    """What the echo model says to one request: text, tool calls, usage, finish reason (wire-neutral)."""

    def __init__(self, plan: Plan, text: str, calls: tuple[ToolCall, ...], prompt_words: int) -> None:
        self.text = text
        self.calls = calls
        self.usage = plan.usage or Usage(
            input_tokens=prompt_words + 3, output_tokens=max(1, _words(text) + sum(_words(c.arguments) for c in calls))
        )
        self.finish = plan.finish_reason or ("tool_calls" if calls else "stop")


def _answer(
    plan: Plan,
    last_role: str,
    last_text: str,
    tools: list[tuple[str, Any]],
    forced: str | None,
    choice_none: bool,
    json_schema: Any,
    json_mode: bool,
    prompt_words: int,
) -> _Answer:
    calls: tuple[ToolCall, ...] = plan.tool_calls
    if not calls and tools and not choice_none and last_role != "tool" and not json_mode:
        name, schema = next(((n, s) for n, s in tools if n == forced), tools[0])
        calls = (ToolCall(id=f"call_{next(_ids)}", name=name, arguments=json.dumps(example_args(schema))),)
    if plan.text is not None:
        text = plan.text
    elif calls:
        text = ""
    elif last_role == "tool":
        text = f"The tool returned: {last_text[:200]}"
    else:
        text = f"You said: {last_text[:200]}"
    if json_mode and not calls:
        text = _as_json(text, json_schema)
    return _Answer(plan, text, calls, prompt_words)


# -- OpenAI -------------------------------------------------------------------------------------------------------

_OPENAI_ERRORS = {
    "rate_limit": ("rate_limit_exceeded", "Rate limit reached, try again later."),
    "context_length_exceeded": (
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.",
    ),
    "overloaded": ("server_overloaded", "The server is overloaded."),
    "content_filter": ("content_filter", "The prompt was filtered by the content policy."),
}


class OpenAIServer(LoopbackServer):
    """Plays the OpenAI chat completions API. Point clients at :attr:`base_url` (``http://127.0.0.1:PORT/v1``)."""

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def respond(self, request: Received, plan: Plan) -> Reply:
        if request.method == "GET" and request.path == "/v1/models":
            return _json(200, {"object": "list", "data": [{"id": "loopback", "object": "model", "owned_by": "me"}]})
        if request.method != "POST" or request.path not in ("/v1/chat/completions", "/chat/completions"):
            return _json(
                404,
                {
                    "error": {
                        "message": f"no route {request.path}",
                        "type": "invalid_request_error",
                        "code": "not_found",
                    }
                },
            )
        early = _early(plan, self._error(plan))
        if early is not None:
            return early
        body = request.body if isinstance(request.body, dict) else {}
        answer = self._decide(body, plan)
        model = str(body.get("model", "loopback"))
        if body.get("stream"):
            return Reply(
                content_type="text/event-stream",
                events=_stream_faults(plan, self._events(answer, model, body), self._error_event(plan)),
            )
        if plan.malformed:
            return Reply(body=b'{"id": "chatcmpl-1", "choices": [{"message": ')
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
        if answer.calls:
            message["tool_calls"] = [_openai_call(c) for c in answer.calls]
        return _json(
            200,
            {
                "id": f"chatcmpl-{next(_ids)}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": answer.finish}],
                "usage": _openai_usage(answer.usage),
            },
        )

    def _decide(self, body: dict[str, Any], plan: Plan) -> _Answer:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        last = messages[-1] if messages else {}
        tools = [(t["function"]["name"], t["function"].get("parameters")) for t in body.get("tools") or []]
        choice = body.get("tool_choice")
        forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        fmt = body.get("response_format") or None
        schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
        words = sum(_words(str(m.get("content") or "")) for m in messages)
        return _answer(
            plan,
            str(last.get("role", "user")),
            str(last.get("content") or ""),
            tools,
            forced,
            choice == "none",
            schema,
            fmt is not None,
            words,
        )

    def _events(self, answer: _Answer, model: str, body: dict[str, Any]) -> list[bytes]:
        head = {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion.chunk", "created": 0, "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _split(answer.text)]
        for i, call in enumerate(answer.calls):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            events += [
                chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
                for part in _halves(call.arguments)
            ]
        events.append(chunk({}, answer.finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(sse({**head, "choices": [], "usage": _openai_usage(answer.usage)}))
        events.append(b"data: [DONE]\n\n")
        return events

    def _error(self, plan: Plan) -> bytes:
        code, message = _OPENAI_ERRORS.get(plan.error_code, (plan.error_code or None, ""))
        kind = "invalid_request_error" if plan.status < 500 else "server_error"
        return json.dumps(
            {
                "error": {
                    "message": plan.error_message or message or f"HTTP {plan.status}",
                    "type": kind,
                    "param": None,
                    "code": code,
                }
            }
        ).encode()

    def _error_event(self, plan: Plan) -> bytes:
        code, message = _OPENAI_ERRORS.get(plan.error_code or "overloaded", (plan.error_code, ""))
        return sse({"error": {"message": plan.error_message or message, "type": "server_error", "code": code}})


def _openai_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _openai_usage(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


# -- Anthropic ----------------------------------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {
    "rate_limit": ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    "context_length_exceeded": ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    "overloaded": ("overloaded_error", "Overloaded"),
    "content_filter": ("invalid_request_error", "Output blocked by content filtering policy"),
}
_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}


class AnthropicServer(LoopbackServer):
    """Plays the Anthropic Messages API at ``/v1/messages``; :attr:`base_url` is the root URL."""

    def respond(self, request: Received, plan: Plan) -> Reply:
        if request.method != "POST" or request.path != "/v1/messages":
            return _json(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
        early = _early(plan, self._error(plan))
        if early is not None:
            return early
        body = request.body if isinstance(request.body, dict) else {}
        answer = self._decide(body, plan)
        model = str(body.get("model", "loopback"))
        msg_id = f"msg_{next(_ids)}"
        if body.get("stream"):
            return Reply(
                content_type="text/event-stream",
                events=_stream_faults(plan, self._events(answer, model, msg_id, plan), self._error_event(plan)),
            )
        if plan.malformed:
            return Reply(body=b'{"type": "message", "content": [')
        content: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
        content += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments)} for c in answer.calls
        ]
        return _json(
            200,
            {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": _ANTHROPIC_STOP.get(answer.finish, answer.finish),
                "stop_sequence": None,
                "usage": _anthropic_usage(answer.usage, plan),
            },
        )

    def _decide(self, body: dict[str, Any], plan: Plan) -> _Answer:
        turns = [t for t in body.get("messages") or [] if isinstance(t, dict)]
        last = turns[-1] if turns else {}
        blocks = last.get("content")
        blocks = [{"type": "text", "text": blocks}] if isinstance(blocks, str) else list(blocks or [])
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        last_role = "tool" if results else str(last.get("role", "user"))
        last_text = (
            str(results[-1].get("content"))
            if results
            else " ".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        )
        tools = [(str(t.get("name")), t.get("input_schema")) for t in body.get("tools") or [] if isinstance(t, dict)]
        choice = body.get("tool_choice") or {}
        forced = choice.get("name") if choice.get("type") == "tool" else None
        words = _words(str(body.get("system") or "")) + sum(_words(json.dumps(t.get("content"))) for t in turns)
        plan_calls = plan.tool_calls
        if forced and not plan_calls:  # a forced tool: the "JSON answer" pattern; fill it from the schema
            schema = dict(tools).get(forced)
            said = f"You said: {last_text[:200]}"
            args = _as_json(plan.text, schema) if plan.text is not None else json.dumps(example_args(schema, said))
            plan_calls = (ToolCall(id=f"toolu_{next(_ids)}", name=forced, arguments=args),)
            plan = dataclasses.replace(plan, tool_calls=plan_calls, text="")
        return _answer(plan, last_role, last_text, tools, forced, choice.get("type") == "none", None, False, words)

    def _events(self, answer: _Answer, model: str, msg_id: str, plan: Plan) -> list[bytes]:
        usage = _anthropic_usage(answer.usage, plan)
        start_usage = {**usage, "output_tokens": 1}
        events = [
            sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "usage": start_usage,
                    },
                },
                "message_start",
            )
        ]
        index = 0
        if answer.text:
            events.append(
                sse(
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                    "content_block_start",
                )
            )
            events.append(sse({"type": "ping"}, "ping"))
            events += [
                sse(
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
                    "content_block_delta",
                )
                for p in _split(answer.text)
            ]
            events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            index = 1
        for call in answer.calls:
            events.append(
                sse(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                    },
                    "content_block_start",
                )
            )
            events += [
                sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                    "content_block_delta",
                )
                for part in _halves(call.arguments)
            ]
            events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
            index += 1
        events.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": _ANTHROPIC_STOP.get(answer.finish, answer.finish), "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
                "message_delta",
            )
        )
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def _error(self, plan: Plan) -> bytes:
        default = "api_error" if plan.status >= 500 else "invalid_request_error"
        kind, message = _ANTHROPIC_ERRORS.get(plan.error_code, (plan.error_code or default, f"HTTP {plan.status}"))
        return json.dumps({"type": "error", "error": {"type": kind, "message": plan.error_message or message}}).encode()

    def _error_event(self, plan: Plan) -> bytes:
        kind, message = _ANTHROPIC_ERRORS.get(plan.error_code or "overloaded", (plan.error_code, "error"))
        return sse({"type": "error", "error": {"type": kind, "message": plan.error_message or message}}, "error")


def _anthropic_usage(u: Usage, plan: Plan) -> dict[str, int]:
    fresh = max(0, u.input_tokens - u.cached_input_tokens - plan.cache_creation_tokens)
    return {
        "input_tokens": fresh,
        "cache_read_input_tokens": u.cached_input_tokens,
        "cache_creation_input_tokens": plan.cache_creation_tokens,
        "output_tokens": u.output_tokens,
    }


# -- shared reply shaping -----------------------------------------------------------------------------------------


def _json(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data).encode())


def _early(plan: Plan, error_body: bytes) -> Reply | None:
    """Replies decided by the plan alone: error statuses, wrong content types, oversized bodies."""
    if plan.status >= 400:
        return Reply(plan.status, error_body)
    if plan.content_type is not None:
        return Reply(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", content_type=plan.content_type)
    if plan.body_bytes is not None:
        pad = max(0, plan.body_bytes - 12)
        return Reply(200, b'{"pad": "' + b"x" * pad + b'"}')
    return None


def _stream_faults(plan: Plan, events: list[bytes], error_event: bytes) -> list[bytes]:
    if plan.malformed:
        events = [b'data: {"choices": [{"delta": \n\n', *events[1:]]
    if plan.error_event_after is not None:
        events = [*events[: plan.error_event_after], error_event]
    if not plan.end_marker:
        markers = (b'"finish_reason":"', b"[DONE]", b'"choices":[],"usage"', b"message_delta", b"message_stop")
        events = [e for e in events if not any(m in e for m in markers)]
    return events
