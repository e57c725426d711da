"""Anthropic Messages API (``POST /v1/messages``), plain and streamed, with tool use.

Translation notes:

- system messages are joined into the top-level ``system`` field; ``role="tool"`` messages become ``tool_result``
  blocks in a user turn; consecutive turns of one role are merged (the API wants them alternating).
- a JSON-schema response format is asked for as a forced tool call whose input is the answer (works on every Claude
  model); the tool input comes back as the reply text, so callers see JSON text as with OpenAI.
- usage: Anthropic reports ``input_tokens`` *beside* ``cache_read_input_tokens`` and ``cache_creation_input_tokens``;
  the gateway's ``Usage.input_tokens`` is their sum (all input), ``cached_input_tokens`` the cache reads and
  ``cache_write_tokens`` the cache writes. When the reply splits writes by lifetime (``cache_creation:
  {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}``) the 1-hour part is ``cache_write_1h_tokens``. The price
  table bills writes at ``cache_write`` (1.25x input for Claude) and 1-hour writes at ``cache_write_1h`` (2x).
  Streams take usage from ``message_start`` and let the (cumulative) ``message_delta`` counts override it.
- HTTP 529 (overloaded) is a transient :class:`~ragwright.errors.ProviderHTTPError`, like a 503.

Example::

    claude = AnthropicChatModel("claude-haiku-4-5", api_key=key, prices=table)
    reply = await claude.chat(ChatRequest(model=claude.name, messages=(Message("user", "Hi"),), max_tokens=64))
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx

from ragwright.config import TimeoutSettings
from ragwright.errors import ContentFiltered, GatewayError, ProviderProtocolError
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.common import HTTPChatModel, StreamState
from ragwright.gateway.providers.http import ServerSentEvent
from ragwright.gateway.types import (
    ChatRequest,
    ChatResponse,
    Chunk,
    FinishReason,
    Message,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicChatModel"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
"""The Messages API requires ``max_tokens``; used when the request leaves it unset."""

_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
}
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicChatModel(HTTPChatModel):
    """A Claude model through the Messages API. ``name`` is ``"provider_name:model"``.

    ``base_url`` is the API root (``https://api.anthropic.com``; a trailing ``/v1`` is accepted too).

    Example::

        model = AnthropicChatModel("claude-haiku-4-5", api_key=key)
        async for chunk in model.stream(request):
            print(chunk.delta, end="")
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.anthropic.com",
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
        prices: PriceTable | None = None,
        headers: dict[str, str] | None = None,
        provider_name: str = "anthropic",
        context_window: int | None = None,
        timeout: TimeoutSettings | None = None,
        version: str = ANTHROPIC_VERSION,
    ) -> None:
        all_headers = {"anthropic-version": version, **(headers or {})}
        if api_key:
            all_headers.setdefault("x-api-key", api_key)
        root = base_url.rstrip("/")
        root = root[:-3] if root.endswith("/v1") else root
        super().__init__(
            model,
            base_url=root,
            provider_name=provider_name,
            client=client,
            prices=prices,
            headers=all_headers,
            context_window=context_window,
            timeout=timeout,
        )

    # -- requests -----------------------------------------------------------------------------------------------

    def payload(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        system = "\n\n".join(m.content or "" for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": _turns(request.messages),
        }
        if system:
            body["system"] = system
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools]
        fmt = request.response_format
        if fmt is not None and fmt.json_schema is not None:
            tools.append(
                {
                    "name": fmt.name,
                    "description": "Give the answer as this tool's input.",
                    "input_schema": fmt.json_schema,
                }
            )
            body["tool_choice"] = {"type": "tool", "name": fmt.name}
        elif fmt is not None:
            body["system"] = (system + "\n\n" if system else "") + "Reply with one JSON object and nothing else."
        if tools:
            body["tools"] = tools
        if request.tool_choice is not None and "tool_choice" not in body:
            choice = request.tool_choice
            body["tool_choice"] = (
                {"type": {"required": "any"}.get(choice, choice)}
                if choice in ("auto", "none", "required")
                else {"type": "tool", "name": choice}
            )
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if stream:
            body["stream"] = True
        return body  # ``seed`` has no equivalent in the Messages API and is dropped

    def _format_tool(self, request: ChatRequest) -> str | None:
        fmt = request.response_format
        return fmt.name if fmt is not None and fmt.json_schema is not None else None

    def _event_error(self, data: dict[str, Any]) -> GatewayError:
        raw = data.get("error")
        err: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind = str(err.get("type") or "api_error")
        message = str(err.get("message") or kind)
        return self.status_error(_ERROR_STATUS.get(kind, 500), message, kind, json.dumps(data)[:2000], None)

    # -- chat ---------------------------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResponse:
        data = await self.post_json("/v1/messages", self.payload(request, stream=False))
        return self.parse(data, self._format_tool(request))

    def parse(self, data: dict[str, Any], format_tool: str | None = None) -> ChatResponse:
        if data.get("type") == "error":
            raise self._event_error(data)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise ProviderProtocolError(f"{self.name}: reply has no content blocks", provider=self.name)
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in blocks:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                text.append(str(block.get("text") or ""))
            elif kind == "tool_use" and block.get("name") == format_tool:
                text.append(json.dumps(block.get("input") or {}))
            elif kind == "tool_use":
                calls.append(
                    ToolCall(
                        id=str(block.get("id") or ""),
                        name=str(block.get("name") or ""),
                        arguments=json.dumps(block.get("input") or {}),
                    )
                )
        stop = str(data.get("stop_reason") or "end_turn")
        if stop == "refusal":
            raise ContentFiltered(f"{self.name}: the model refused the request", provider=self.name)
        finish: FinishReason = "stop" if format_tool and not calls else _STOP.get(stop, "stop")
        usage = _usage(data.get("usage"))
        return ChatResponse(
            model=self.name,
            message=Message("assistant", "".join(text) or None, tool_calls=tuple(calls)),
            finish_reason=finish,
            usage=usage or Usage(),
            cost_usd=self.cost(usage),
            id=str(data.get("id") or ""),
        )

    # -- stream -------------------------------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        format_tool = self._format_tool(request)

        def convert(
            events: AsyncIterator[ServerSentEvent | dict[str, Any]], state: StreamState
        ) -> AsyncGenerator[Chunk, None]:
            return self._chunks(events, state, format_tool)

        return self.stream_chunks("/v1/messages", self.payload(request, stream=True), convert)

    async def _chunks(
        self, events: AsyncIterator[ServerSentEvent | dict[str, Any]], state: StreamState, format_tool: str | None
    ) -> AsyncGenerator[Chunk, None]:
        raw_usage: dict[str, Any] = {}  # message_start usage, overridden by message_delta's cumulative counts
        have_usage = False
        stop: str | None = None
        tool_index: dict[int, int] = {}  # content block index -> tool call index
        json_blocks: set[int] = set()  # blocks carrying the forced response-format tool
        async for item in events:
            if state.done:  # read on to the end of the body, so the connection goes back to the pool
                continue
            if isinstance(item, dict):  # a whole message instead of a stream
                reply = self.parse(item, format_tool)
                yield Chunk(
                    delta=reply.text,
                    tool_calls=tuple(
                        ToolCallDelta(i, c.id, c.name, c.arguments) for i, c in enumerate(reply.message.tool_calls)
                    ),
                    model=self.name,
                )
                stop, have_usage = reply.finish_reason, True
                whole = item.get("usage")
                raw_usage = dict(whole) if isinstance(whole, dict) else {}
                state.done = True
                continue
            data = self.json_object(item.data)
            kind = data.get("type") or item.event
            if kind == "error":
                raise self._event_error(data)
            if kind == "message_start":
                start_usage = (data.get("message") or {}).get("usage")
                if isinstance(start_usage, dict):
                    raw_usage, have_usage = dict(start_usage), True
            elif kind in ("content_block_start", "content_block_delta"):
                chunk = self._block(data, tool_index, json_blocks, format_tool)
                if chunk is not None:
                    yield chunk
            elif kind == "message_delta":
                stop = (data.get("delta") or {}).get("stop_reason") or stop
                delta_usage = data.get("usage")
                if isinstance(delta_usage, dict):
                    raw_usage.update({k: v for k, v in delta_usage.items() if v is not None})
                    have_usage = have_usage or isinstance(delta_usage.get("output_tokens"), int)
            elif kind == "message_stop":
                state.done = True
                continue
        if not state.done:
            return
        if stop == "refusal":
            raise ContentFiltered(f"{self.name}: the model refused the request", provider=self.name)
        finish: FinishReason = "stop" if format_tool and not tool_index else _STOP.get(str(stop), "stop")
        usage = _usage(raw_usage) or Usage()
        yield Chunk(
            finish_reason=finish, usage=usage, cost_usd=self.cost(usage if have_usage else None), model=self.name
        )

    def _block(
        self, data: dict[str, Any], tool_index: dict[int, int], json_blocks: set[int], format_tool: str | None
    ) -> Chunk | None:
        """The chunk for a ``content_block_start`` or ``content_block_delta`` event, if it carries anything."""
        index = int(data.get("index", 0))
        if data.get("type") == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use" and block.get("name") == format_tool:
                json_blocks.add(index)
            elif block.get("type") == "tool_use":
                tool_index[index] = len(tool_index)
                return Chunk(
                    tool_calls=(
                        ToolCallDelta(
                            tool_index[index], id=str(block.get("id") or ""), name=str(block.get("name") or "")
                        ),
                    ),
                    model=self.name,
                )
            elif block.get("type") == "text" and block.get("text"):
                return Chunk(delta=str(block["text"]), model=self.name)
            return None
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta":
            return Chunk(delta=str(delta.get("text") or ""), model=self.name) if delta.get("text") else None
        if delta.get("type") == "input_json_delta":
            part = str(delta.get("partial_json") or "")
            if index in json_blocks:
                return Chunk(delta=part, model=self.name) if part else None
            if index in tool_index and part:
                return Chunk(tool_calls=(ToolCallDelta(tool_index[index], arguments=part),), model=self.name)
        return None


def _turns(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages as alternating user/assistant turns of content blocks (system messages go elsewhere)."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if m.role == "tool":
            blocks.append({"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content or ""})
        else:
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            for call in m.tool_calls:
                blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _arguments(call)})
        role = "assistant" if m.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _arguments(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _usage(raw: Any) -> Usage | None:
    """Anthropic usage -> :class:`Usage` (input = uncached + cache reads + cache writes; cached = cache reads;
    cache writes = ``cache_creation_input_tokens``, of which ``cache_creation.ephemeral_1h_input_tokens`` 1-hour)."""
    if not isinstance(raw, dict):
        return None
    read = _int(raw.get("cache_read_input_tokens"))
    split = raw.get("cache_creation")
    split = split if isinstance(split, dict) else {}
    written_1h = _int(split.get("ephemeral_1h_input_tokens"))
    # the total, or (if only the split is given) the sum of the split
    written = _int(raw.get("cache_creation_input_tokens")) or _int(split.get("ephemeral_5m_input_tokens")) + written_1h
    return Usage(
        input_tokens=_int(raw.get("input_tokens")) + read + written,
        cached_input_tokens=read,
        output_tokens=_int(raw.get("output_tokens")),
        cache_write_tokens=written,
        cache_write_1h_tokens=min(written_1h, written),
    )
