"""The OpenAI Chat Completions wire format, server side: request JSON -> :class:`ChatRequest`, and responses, stream
chunks and errors -> OpenAI JSON. Hand-written checks (no pydantic) because this runs on the proxy's hot path.

Example::

    req, opts = parse_chat_request(orjson.loads(body), RequestContext(tenant="acme"))
    payload = completion_json(await model.chat(req), opts)
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from typing import Any

from ragwright.gateway.types import (
    ChatRequest,
    ChatResponse,
    Chunk,
    Message,
    RequestContext,
    ResponseFormat,
    Tool,
    ToolCall,
    Usage,
)
from ragwright.redact import redact

__all__ = [
    "InvalidRequest",
    "Options",
    "chunk_json",
    "completion_json",
    "error_body",
    "parse_chat_request",
    "usage_json",
]

_ROLES = frozenset(("system", "user", "assistant", "tool", "developer"))
_ids = itertools.count(1)
_id_prefix: list[str] = []


def new_id() -> str:
    """A unique completion id: a random per-process prefix and a counter (uuid4 per request showed in profiles)."""
    if not _id_prefix:
        _id_prefix.append(os.urandom(8).hex())
    return f"chatcmpl-{_id_prefix[0]}{next(_ids):x}"


class InvalidRequest(ValueError):
    """The request body is not a valid chat completion request (sent back as HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Options:
    """Wire-level options that are not part of the model call."""

    stream: bool = False
    include_usage: bool = False
    id: str = ""
    created: int = 0


def _text(content: Any, where: str) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise InvalidRequest(f"{where}: only text content parts are supported", where)
            parts.append(part["text"])
        return "".join(parts)
    raise InvalidRequest(f"{where} must be a string or a list of text parts", where)


def _tool_calls(raw: Any, where: str) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest(f"{where} must be a list", where)
    calls = []
    for call in raw:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise InvalidRequest(f"{where}: each tool call needs function.name", where)
        args = fn.get("arguments", "{}")
        calls.append(
            ToolCall(id=str(call.get("id") or ""), name=fn["name"], arguments=args if isinstance(args, str) else "{}")
        )
    return tuple(calls)


def _messages(raw: Any) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("messages must be a non-empty list", "messages")
    out = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise InvalidRequest(f"{where} must be an object", where)
        role = m.get("role")
        if role not in _ROLES:
            raise InvalidRequest(f"{where}.role must be one of system, user, assistant, tool", f"{where}.role")
        name = m.get("name")
        tcid = m.get("tool_call_id")
        out.append(
            Message(
                "system" if role == "developer" else role,
                _text(m.get("content"), f"{where}.content"),
                tool_calls=_tool_calls(m.get("tool_calls"), f"{where}.tool_calls"),
                tool_call_id=tcid if isinstance(tcid, str) else None,
                name=name if isinstance(name, str) else None,
            )
        )
    return tuple(out)


def _tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools must be a list", "tools")
    tools = []
    for t in raw:
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise InvalidRequest("each tool needs function.name", "tools")
        params = fn.get("parameters")
        tools.append(
            Tool(
                name=fn["name"],
                description=str(fn.get("description") or ""),
                parameters=params if isinstance(params, dict) else {"type": "object", "properties": {}},
            )
        )
    return tuple(tools)


def _tool_choice(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("function"), dict):
        name = raw["function"].get("name")
        if isinstance(name, str):
            return name
    raise InvalidRequest("tool_choice must be 'auto', 'none', 'required' or a function", "tool_choice")


def _response_format(raw: Any) -> ResponseFormat | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat(json_schema=None)
    if kind == "json_schema" and isinstance(raw.get("json_schema"), dict):
        js = raw["json_schema"]
        return ResponseFormat(
            json_schema=js.get("schema") or {},
            name=str(js.get("name") or "response"),
            strict=bool(js.get("strict", True)),
        )
    raise InvalidRequest("response_format.type must be text, json_object or json_schema", "response_format")


def _number(data: dict[str, Any], key: str, kind: type, low: float, high: float) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float) if kind is float else int)
        or not low <= value <= high
    ):
        raise InvalidRequest(f"{key} must be a {kind.__name__} between {low:g} and {high:g}", key)
    return value


def parse_chat_request(data: Any, context: RequestContext) -> tuple[ChatRequest, Options]:
    """Translate an OpenAI chat completion body; raises :class:`InvalidRequest` naming the bad field."""
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model is required", "model")
    n = data.get("n")
    if n not in (None, 1):
        raise InvalidRequest("only n=1 is supported", "n")
    stop = data.get("stop")
    if isinstance(stop, str):
        stops: tuple[str, ...] = (stop,)
    elif stop is None:
        stops = ()
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = tuple(stop)
    else:
        raise InvalidRequest("stop must be a string or a list of strings", "stop")
    max_tokens = _number(data, "max_completion_tokens", int, 1, 10_000_000)
    if max_tokens is None:
        max_tokens = _number(data, "max_tokens", int, 1, 10_000_000)
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("stream must be a boolean", "stream")
    so = data.get("stream_options")
    include_usage = bool(so.get("include_usage")) if isinstance(so, dict) else False
    req = ChatRequest(
        model=model,
        messages=_messages(data.get("messages")),
        tools=_tools(data.get("tools")),
        tool_choice=_tool_choice(data.get("tool_choice")),
        response_format=_response_format(data.get("response_format")),
        temperature=_number(data, "temperature", float, 0.0, 2.0),
        max_tokens=max_tokens,
        seed=_number(data, "seed", int, -(2**63), 2**63 - 1),
        stop=stops,
        context=context,
    )
    return req, Options(stream=stream, include_usage=include_usage, id=new_id(), created=int(time.time()))


def usage_json(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def _tool_calls_json(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]


def completion_json(resp: ChatResponse, opts: Options) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": resp.message.content}
    if resp.message.tool_calls:
        message["tool_calls"] = _tool_calls_json(resp.message.tool_calls)
    return {
        "id": resp.id or opts.id,
        "object": "chat.completion",
        "created": opts.created,
        "model": resp.model,
        "choices": [{"index": 0, "message": message, "finish_reason": resp.finish_reason, "logprobs": None}],
        "usage": usage_json(resp.usage),
        "ragwright": {
            "cost_usd": resp.cost_usd,
            "cached": resp.cached,
            "saved_usd": resp.saved_usd,
            "attempts": [[a.model, redact(a.error) if a.error else a.error] for a in resp.attempts],
        },
    }


def chunk_json(opts: Options, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": opts.id,
        "object": "chat.completion.chunk",
        "created": opts.created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def chunk_delta(chunk: Chunk, first: bool) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"} if first else {}
    if chunk.delta or first:
        delta["content"] = chunk.delta
    if chunk.tool_calls:
        delta["tool_calls"] = [
            {
                "index": d.index,
                **({"id": d.id, "type": "function"} if d.id else {}),
                "function": {**({"name": d.name} if d.name else {}), "arguments": d.arguments},
            }
            for d in chunk.tool_calls
        ]
    return delta


# --- errors ------------------------------------------------------------------------------------------------------


def error_body(message: str, kind: str, code: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object; statuses, types and codes come from :mod:`ragwright.errors_http`."""
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}
