"""What the HTTP adapters share: sending a JSON POST, mapping error statuses, opening an SSE stream, and the rule
that a failure after the first yielded chunk becomes :class:`~ragwright.errors.StreamInterrupted`.

Subclasses (OpenAI, Anthropic) only translate wire formats: they build the payload, parse replies and events, and
say how their error bodies look (:meth:`HTTPChatModel.status_error`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx
import orjson

from ragwright.config import TimeoutSettings
from ragwright.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    GatewayError,
    ProviderHTTPError,
    ProviderProtocolError,
)
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.http import (
    ServerSentEvent,
    httpx_timeout,
    interrupted,
    iter_sse,
    read_body,
    retry_after_from,
    shared_client,
    stream_timeout,
    translate_error,
)
from ragwright.gateway.types import Chunk, Usage
from ragwright.observability.tracing import inject
from ragwright.redact import redact

__all__ = ["HTTPChatModel", "StreamState", "looks_like_context_overflow"]

_CONTEXT_OVERFLOW = re.compile(
    r"context[ _]length|maximum context|context (window|size)|prompt is too long|too many (input )?tokens|"
    r"exceeds the (available )?context",
    re.IGNORECASE,
)


def looks_like_context_overflow(message: str) -> bool:
    """Providers word this differently (OpenAI, vLLM, llama.cpp, Anthropic); these phrases cover the known ones."""
    return bool(_CONTEXT_OVERFLOW.search(message))


class StreamState:
    """What a stream has done so far: whether content reached the caller, and whether its end marker arrived."""

    __slots__ = ("done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False


Events = AsyncIterator[ServerSentEvent | dict[str, Any]]
Converter = Callable[[Events, StreamState], AsyncGenerator[Chunk, None]]


class HTTPChatModel:
    """Base of the HTTP adapters. ``client=None`` uses the shared client of the running event loop."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        provider_name: str,
        client: httpx.AsyncClient | None,
        prices: PriceTable | None,
        headers: dict[str, str] | None,
        context_window: int | None,
        timeout: TimeoutSettings | None,
    ) -> None:
        self.model = model
        self.provider_name = provider_name
        self.name = f"{provider_name}:{model}"
        self.base_url = base_url.rstrip("/")
        self.context_window = context_window
        self.prices = prices
        self.timeout = timeout
        self._client = client
        self._headers = {"content-type": "application/json", "accept": "application/json", **(headers or {})}

    def client(self) -> httpx.AsyncClient:
        return self._client if self._client is not None else shared_client(self.timeout)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is the event loop's shared one or the caller's (who closes it)."""

    def cost(self, usage: Usage | None) -> float | None:
        """USD for ``usage`` from the price table; None without a table, a price, or usage reported."""
        if usage is None or self.prices is None:
            return None
        return self.prices.cost(self.name, usage)

    def status_error(
        self,
        status: int,
        message: str,
        code: str,
        body: str,
        retry_after: float | None,
    ) -> GatewayError:
        """The error for an error status whose body said ``message``/``code`` (subclasses refine). The upstream's text
        is redacted here, where it enters ragwright: providers echo the credentials they were sent."""
        message, body = redact(message), redact(body)
        if status in (400, 413, 422) and (code == "context_length_exceeded" or looks_like_context_overflow(message)):
            return ContextLengthExceeded(f"{self.name}: {message or 'context length exceeded'}", provider=self.name)
        if code == "content_filter":
            return ContentFiltered(f"{self.name}: {message or 'content filtered'}", provider=self.name)
        return ProviderHTTPError(status, message, provider=self.name, retry_after=retry_after, body=body)

    async def _error_for(self, response: httpx.Response) -> GatewayError:
        raw = await read_body(response, provider=self.name)
        body = raw.decode("utf-8", errors="replace")
        message, code = _error_fields(body)
        return self.status_error(response.status_code, message, code, body, retry_after_from(response.headers))

    def _request(self, path: str, payload: dict[str, Any], *, stream: bool) -> httpx.Request:
        headers = dict(self._headers)
        if stream:
            headers["accept"] = "text/event-stream"
        inject(headers)  # W3C traceparent of the attempt's span, when tracing is on
        timeout = None if self.timeout is None else (stream_timeout if stream else httpx_timeout)(self.timeout)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        return self.client().build_request(
            "POST", self.base_url + path, headers=headers, content=orjson.dumps(payload), **extra
        )

    async def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST and return the decoded JSON object; error statuses, bad JSON and wrong content types raise."""
        return self.json_object(await self.post_json_value(path, payload))

    async def post_json_value(self, path: str, payload: dict[str, Any]) -> Any:
        """POST and return the decoded JSON value, whatever its type (a TEI ``/rerank`` reply is a list)."""
        client = self.client()
        try:
            response = await client.send(self._request(path, payload, stream=False), stream=True)
        except httpx.HTTPError as exc:
            raise translate_error(exc, provider=self.name) from exc
        try:
            if response.status_code >= 400:
                raise await self._error_for(response)
            raw = await read_body(response, provider=self.name)
        finally:
            await response.aclose()
        ctype = response.headers.get("content-type", "")
        if "json" not in ctype:
            raise ProviderProtocolError(
                f"{self.name}: expected JSON, got content type {ctype or 'none'!r} ({raw[:80]!r})", provider=self.name
            )
        return self.json_value(raw)

    def _decode(self, response: httpx.Response, raw: bytes) -> dict[str, Any]:
        ctype = response.headers.get("content-type", "")
        if "json" not in ctype:
            raise ProviderProtocolError(
                f"{self.name}: expected JSON, got content type {ctype or 'none'!r} ({raw[:80]!r})", provider=self.name
            )
        return self.json_object(raw)

    def json_value(self, text: str | bytes) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ProviderProtocolError(
                f"{self.name}: malformed JSON ({exc.msg} at {exc.pos}): {text[:80]!r}", provider=self.name
            ) from None

    def json_object(self, text: Any) -> dict[str, Any]:
        """A JSON object from JSON text (or from an already decoded value); anything else is a protocol error."""
        data = self.json_value(text) if isinstance(text, (str, bytes)) else text
        if not isinstance(data, dict):
            raise ProviderProtocolError(
                f"{self.name}: expected a JSON object, got {type(data).__name__}", provider=self.name
            )
        return data

    async def open_events(
        self,
        path: str,
        payload: dict[str, Any],
        state: StreamState,
    ) -> AsyncGenerator[ServerSentEvent | dict[str, Any], None]:
        """POST for a stream and yield its SSE events; a JSON (non-SSE) reply is yielded whole as a dict.

        Errors are raised translated: :class:`StreamInterrupted` once ``state.started`` is set by the caller.
        """
        client = self.client()
        try:
            response = await client.send(self._request(path, payload, stream=True), stream=True)
        except httpx.HTTPError as exc:
            raise translate_error(exc, provider=self.name, streaming=True) from exc
        try:
            if response.status_code >= 400:
                raise await self._error_for(response)
            ctype = response.headers.get("content-type", "")
            if "text/event-stream" not in ctype:
                if "json" in ctype:  # a server that ignores "stream": true answers in one piece
                    yield self._decode(response, await read_body(response, provider=self.name))
                    return
                raise ProviderProtocolError(
                    f"{self.name}: expected an event stream, got content type {ctype or 'none'!r}", provider=self.name
                )
            async for event in iter_sse(response, provider=self.name):
                yield event
        except httpx.HTTPError as exc:
            raise translate_error(exc, provider=self.name, streaming=True, started=state.started) from exc
        except GatewayError as exc:
            if state.started:
                raise interrupted(exc, self.name) from exc
            raise
        finally:
            await response.aclose()

    async def stream_chunks(self, path: str, payload: dict[str, Any], convert: Converter) -> AsyncIterator[Chunk]:
        """Run a stream: ``convert`` turns the events into chunks and sets ``state.done`` at the end marker.

        Any failure after a chunk with content was yielded is raised as :class:`StreamInterrupted`; a stream that
        closes without its end marker is an error too, never a quiet truncated success.
        """
        state = StreamState()
        events = self.open_events(path, payload, state)
        try:
            # closed explicitly, not left to the garbage collector: a caller that stops early frees the connection now
            async with aclosing(events), aclosing(convert(events, state)) as chunks:
                async for chunk in chunks:
                    if chunk.delta or chunk.tool_calls:
                        state.started = True
                    yield chunk
        except GatewayError as exc:
            if state.started:
                raise interrupted(exc, self.name) from exc
            raise
        if not state.done:
            raise self.ended_early(state)

    def ended_early(self, state: StreamState) -> GatewayError:
        """The stream closed cleanly but without its end marker: never report that as a success."""
        if state.started:
            return interrupted(
                ProviderProtocolError(f"{self.name}: stream ended without its end marker", provider=self.name),
                self.name,
            )
        return ProviderProtocolError(f"{self.name}: stream ended before any content", provider=self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, base_url={self.base_url!r})"


def _error_fields(body: str) -> tuple[str, str]:
    """``(message, code)`` from an error body: ``{"error": {...}}`` (OpenAI, Anthropic) or a flat object (vLLM)."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return body.strip()[:300], ""
    if not isinstance(data, dict):
        return str(data)[:300], ""
    err = data.get("error", data)
    if isinstance(err, str):
        return err, str(data.get("code") or "")
    if not isinstance(err, dict):
        return str(err)[:300], ""
    message = str(err.get("message") or "")
    code = err.get("code") or err.get("type") or ""
    return message, str(code)
