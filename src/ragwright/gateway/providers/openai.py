"""OpenAI-compatible chat completions: OpenAI itself, and every server that speaks its ``/chat/completions`` dialect
(vLLM, Ollama, llama.cpp server, Groq, Together, OpenRouter, the ragwright proxy).

Usage mapping (see :class:`~ragwright.gateway.types.Usage`): ``prompt_tokens`` already includes
``prompt_tokens_details.cached_tokens`` and ``completion_tokens`` already includes
``completion_tokens_details.reasoning_tokens``, which is exactly the gateway's convention, so they map one to one.

Example::

    model = OpenAIChatModel("gpt-4o-mini", base_url="https://api.openai.com/v1", api_key=key, prices=table)
    reply = await model.chat(ChatRequest(model=model.name, messages=(Message("user", "Hi"),)))
    reply.text, reply.usage, reply.cost_usd
"""

from __future__ import annotations

import json
import re
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
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["OpenAIChatModel"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


_REASONING = re.compile(r"^(o\d|gpt-5)")


class OpenAIChatModel(HTTPChatModel):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint. ``name`` is ``"provider_name:model"``.

    ``base_url`` includes the version prefix (``https://api.openai.com/v1``, ``http://127.0.0.1:11434/v1``);
    ``api_key`` is the resolved key (None for local servers that need none); ``client=None`` uses the shared pooled
    client of the running event loop; ``timeout`` sets per-request socket deadlines (the client's otherwise).

    Example::

        groq = OpenAIChatModel("llama-3.1-8b-instant", base_url="https://api.groq.com/openai/v1", api_key=key,
                               provider_name="groq")
        async for chunk in groq.stream(request):
            print(chunk.delta, end="")
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        client: httpx.AsyncClient | None = None,
        prices: PriceTable | None = None,
        headers: dict[str, str] | None = None,
        provider_name: str = "openai",
        context_window: int | None = None,
        timeout: TimeoutSettings | None = None,
    ) -> None:
        all_headers = dict(headers or {})
        if api_key:
            all_headers.setdefault("authorization", f"Bearer {api_key}")
        super().__init__(
            model,
            base_url=base_url,
            provider_name=provider_name,
            client=client,
            prices=prices,
            headers=all_headers,
            context_window=context_window,
            timeout=timeout,
        )
        # OpenAI's own API wants max_completion_tokens (its reasoning models reject max_tokens); compatible servers
        # (vLLM, Ollama, llama.cpp, Groq, ...) all read max_tokens
        self.max_tokens_field = "max_completion_tokens" if "api.openai.com" in self.base_url else "max_tokens"
        # OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) reject any temperature but the default: leave it out
        # there rather than fail every judge call that asks for temperature 0
        self.sampling_fields = (
            ("seed",) if "api.openai.com" in self.base_url and _REASONING.match(model) else ("temperature", "seed")
        )

    # -- requests -----------------------------------------------------------------------------------------------

    def payload(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [_message(m) for m in request.messages]}
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = (
                choice if choice in ("auto", "none", "required") else {"type": "function", "function": {"name": choice}}
            )
        fmt = request.response_format
        if fmt is not None:
            body["response_format"] = (
                {"type": "json_object"}
                if fmt.json_schema is None
                else {
                    "type": "json_schema",
                    "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
                }
            )
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        for key in self.sampling_fields:
            value = getattr(request, key)
            if value is not None:
                body[key] = value
        if request.stop:
            body["stop"] = list(request.stop)
        if request.top_logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    # -- chat ---------------------------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return self.parse(await self.post_json("/chat/completions", self.payload(request, stream=False)))

    def parse(self, data: dict[str, Any]) -> ChatResponse:
        """A ``chat.completion`` object as a :class:`ChatResponse` (raising on error objects and refusals)."""
        if "error" in data:
            raise self._body_error(data)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProviderProtocolError(f"{self.name}: reply has no choices", provider=self.name)
        choice = choices[0]
        msg = choice.get("message")
        if not isinstance(msg, dict):
            raise ProviderProtocolError(f"{self.name}: reply choice has no message", provider=self.name)
        finish = choice.get("finish_reason")
        if finish == "content_filter":
            raise ContentFiltered(f"{self.name}: the reply was withheld by the content filter", provider=self.name)
        calls = tuple(_tool_call(c, self.name) for c in msg.get("tool_calls") or ())
        usage = _usage(data.get("usage"))
        content = msg.get("content")
        return ChatResponse(
            model=self.name,
            message=Message("assistant", content if isinstance(content, str) else None, tool_calls=calls),
            finish_reason=_FINISH.get(str(finish), "tool_calls" if calls else "stop"),
            usage=usage or Usage(),
            cost_usd=self.cost(usage),
            id=str(data.get("id") or ""),
            logprobs=_logprobs(choice.get("logprobs")),
        )

    def _body_error(self, data: dict[str, Any]) -> GatewayError:
        err = data.get("error")
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        code = str((err.get("code") or err.get("type") or "") if isinstance(err, dict) else "")
        status = err.get("status") if isinstance(err, dict) else None
        status = (
            status if isinstance(status, int) and status >= 400 else (400 if code == "invalid_request_error" else 500)
        )
        return self.status_error(status, message, code, json.dumps(data)[:2000], None)

    # -- stream -------------------------------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        return self.stream_chunks("/chat/completions", self.payload(request, stream=True), self._chunks)

    async def _chunks(
        self, events: AsyncIterator[ServerSentEvent | dict[str, Any]], state: StreamState
    ) -> AsyncGenerator[Chunk, None]:
        finish: str | None = None
        usage: Usage | None = None
        async for item in events:
            if state.done:  # read on to the end of the body, so the connection goes back to the pool
                continue
            if isinstance(item, dict):  # the server answered with a whole completion
                reply = self.parse(item)
                deltas = tuple(
                    ToolCallDelta(i, c.id, c.name, c.arguments) for i, c in enumerate(reply.message.tool_calls)
                )
                yield Chunk(delta=reply.text, tool_calls=deltas, model=self.name)
                finish, usage = reply.finish_reason, reply.usage
                state.done = True
                continue
            if item.data.strip() == "[DONE]":
                state.done = True
                continue
            data = self.json_object(item.data)
            if "error" in data:
                raise self._body_error(data)
            usage = _usage(data.get("usage")) or usage
            for choice in data.get("choices") or ():
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                text = delta.get("content")
                calls = tuple(_tool_delta(d, self.name) for d in delta.get("tool_calls") or ())
                if text or calls:
                    yield Chunk(delta=text if isinstance(text, str) else "", tool_calls=calls, model=self.name)
                finish = choice.get("finish_reason") or finish
        if finish is None:
            state.done = False  # neither [DONE] after a finish_reason nor a finish_reason: the stream was cut
            return
        if finish == "content_filter":
            raise ContentFiltered(f"{self.name}: the reply was withheld by the content filter", provider=self.name)
        state.done = True
        yield Chunk(
            finish_reason=_FINISH.get(finish, "stop"),
            usage=usage or Usage(),
            cost_usd=self.cost(usage),
            model=self.name,
        )


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        out["name"] = m.name
    if m.content is None and not m.tool_calls:
        out["content"] = ""
    return out


def _tool_call(raw: Any, provider: str) -> ToolCall:
    fn = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(fn, dict) or not fn.get("name"):
        raise ProviderProtocolError(f"{provider}: malformed tool call {str(raw)[:120]}", provider=provider)
    args = fn.get("arguments")
    return ToolCall(
        id=str(raw.get("id") or ""),
        name=str(fn["name"]),
        arguments=args if isinstance(args, str) else json.dumps(args or {}),
    )


def _tool_delta(raw: Any, provider: str) -> ToolCallDelta:
    if not isinstance(raw, dict):
        raise ProviderProtocolError(f"{provider}: malformed tool call delta {str(raw)[:120]}", provider=provider)
    fn = raw.get("function") or {}
    args = fn.get("arguments")
    return ToolCallDelta(
        index=int(raw.get("index", 0)),
        id=raw.get("id") or None,
        name=fn.get("name") or None,
        arguments=args if isinstance(args, str) else "",
    )


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    """``choice.logprobs.content`` (``[{token, logprob, top_logprobs: [{token, logprob}]}]``); () when absent."""
    content = raw.get("content") if isinstance(raw, dict) else None
    if not isinstance(content, list):
        return ()
    out = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("logprob"), int | float):
            continue
        top = tuple(
            (str(t.get("token", "")), float(t["logprob"]))
            for t in item.get("top_logprobs") or ()
            if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
        )
        out.append(TokenLogprob(str(item.get("token", "")), float(item["logprob"]), top))
    return tuple(out)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _usage(raw: Any) -> Usage | None:
    """OpenAI usage -> :class:`Usage`; None when the reply carried none (then the cost is unknown, not zero)."""
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_int(raw.get("prompt_tokens")),
        cached_input_tokens=_int(prompt.get("cached_tokens") if isinstance(prompt, dict) else 0),
        output_tokens=_int(raw.get("completion_tokens")),
        reasoning_tokens=_int(completion.get("reasoning_tokens") if isinstance(completion, dict) else 0),
    )
