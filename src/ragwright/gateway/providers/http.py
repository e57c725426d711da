"""HTTP plumbing shared by the provider adapters: one pooled ``httpx.AsyncClient`` per event loop, httpx exceptions
translated into the gateway's error tree, ``Retry-After`` parsing, a capped body reader and an SSE reader.

Every adapter sends with ``stream=True`` and reads through :func:`read_body` or :func:`iter_sse`, so a provider (or
anything pretending to be one) can never make us buffer more than :data:`MAX_BODY_BYTES`.

Example::

    client = shared_client(settings.gateway.timeout)      # same object for every provider on this event loop
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise translate_error(exc, provider="openai:gpt-4o-mini") from exc
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from ragwright.config import TimeoutSettings
from ragwright.errors import (
    GatewayError,
    ProviderConnectionError,
    ProviderProtocolError,
    ProviderTimeout,
    StreamInterrupted,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "ServerSentEvent",
    "aclose_shared_clients",
    "httpx_timeout",
    "interrupted",
    "iter_sse",
    "make_client",
    "parse_retry_after",
    "read_body",
    "retry_after_from",
    "shared_client",
    "stream_timeout",
    "translate_error",
]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest non-streaming reply body we read (a chat completion is a few KiB; 16 MiB is far past any real one)."""
MAX_EVENT_BYTES = 4 * 1024 * 1024
"""Largest single SSE line or event a stream may send."""

_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def httpx_timeout(timeout: TimeoutSettings) -> httpx.Timeout:
    """Client-level deadlines: connect as configured; reads bounded by the total deadline (a non-streamed reply
    arrives in one piece only when the whole generation is done). The timeout policy enforces the exact deadlines;
    these are the socket-level backstop."""
    return httpx.Timeout(connect=timeout.connect, read=timeout.total, write=timeout.total, pool=timeout.connect)


def stream_timeout(timeout: TimeoutSettings) -> httpx.Timeout:
    """Per-request deadlines for a stream: a gap between two reads longer than ``first_token`` is a stall."""
    return httpx.Timeout(connect=timeout.connect, read=timeout.first_token, write=timeout.total, pool=timeout.connect)


def make_client(
    timeout: TimeoutSettings | None = None,
    *,
    max_connections: int = 256,
    max_keepalive: int = 64,
    keepalive_expiry: float = 30.0,
) -> httpx.AsyncClient:
    """A pooled client sized for many concurrent calls (the gateway must hold up under a few hundred at once)."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_keepalive, keepalive_expiry=keepalive_expiry
    )
    return httpx.AsyncClient(
        timeout=httpx_timeout(timeout or TimeoutSettings()), limits=limits, follow_redirects=False, trust_env=False
    )


def shared_client(timeout: TimeoutSettings | None = None) -> httpx.AsyncClient:
    """The one client for the running event loop, created on first use (a client cannot cross event loops).

    ``timeout`` only shapes the client when this call creates it; later calls get the existing client.
    """
    loop = asyncio.get_running_loop()
    client = _SHARED.get(loop)
    if client is None or client.is_closed:
        client = make_client(timeout)
        _SHARED[loop] = client
    return client


async def aclose_shared_clients() -> None:
    """Close the running loop's shared client (call at shutdown; the next use makes a new one)."""
    client = _SHARED.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


# -- errors -------------------------------------------------------------------------------------------------------


def _deadline(exc: httpx.HTTPError, key: str) -> float:
    try:
        value = exc.request.extensions.get("timeout", {}).get(key)
    except RuntimeError:  # an exception raised without a request attached
        value = None
    return float(value) if isinstance(value, (int, float)) else 0.0


def translate_error(
    exc: httpx.HTTPError, *, provider: str, streaming: bool = False, started: bool = False
) -> GatewayError:
    """The gateway error for an httpx failure.

    ``streaming`` says the call is a stream (a read timeout before any content is then a first-token timeout);
    ``started`` says content already reached the caller, which turns any failure into :class:`StreamInterrupted`.
    """
    error: GatewayError
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        error = ProviderTimeout(
            "connect", _deadline(exc, "connect" if isinstance(exc, httpx.ConnectTimeout) else "pool"), provider=provider
        )
    elif isinstance(exc, httpx.TimeoutException):
        phase = "first_token" if streaming and not started else "total"
        error = ProviderTimeout(
            phase, _deadline(exc, "read" if isinstance(exc, httpx.ReadTimeout) else "write"), provider=provider
        )
    elif isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        error = ProviderConnectionError(
            f"{provider}: {type(exc).__name__}: {exc or 'connection lost'}", provider=provider
        )
    else:  # DecodingError, TooManyRedirects, LocalProtocolError, UnsupportedProtocol, ...
        error = ProviderProtocolError(f"{provider}: {type(exc).__name__}: {exc}", provider=provider)
    if started:
        return interrupted(error, provider)
    return error


def interrupted(error: GatewayError, provider: str) -> StreamInterrupted:
    """Wrap a failure that happened after content reached the caller."""
    if isinstance(error, StreamInterrupted):
        return error
    return StreamInterrupted(
        f"{provider}: stream failed after its first token: {error}", provider=provider, cause=error
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds (``"2"``, ``"0.5"``) or an HTTP date.

    Returns None when absent or unparseable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def retry_after_from(headers: httpx.Headers) -> float | None:
    """``retry-after-ms`` (OpenAI's precise form) if present, else ``Retry-After``."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


# -- bodies -------------------------------------------------------------------------------------------------------


async def read_body(response: httpx.Response, *, provider: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body of a response opened with ``stream=True``, refusing more than ``limit`` bytes.

    httpx errors while reading are translated; the caller still closes the response.
    """
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProviderProtocolError(
            f"{provider}: reply body of {int(declared)} bytes exceeds the {limit} byte cap", provider=provider
        )
    parts: list[bytes] = []
    size = 0
    try:
        async for part in response.aiter_bytes():
            size += len(part)
            if size > limit:
                raise ProviderProtocolError(f"{provider}: reply body exceeds the {limit} byte cap", provider=provider)
            parts.append(part)
    except httpx.HTTPError as exc:
        raise translate_error(exc, provider=provider) from exc
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One server-sent event: its ``event`` name and ``data`` text."""

    event: str
    data: str


async def iter_sse(
    response: httpx.Response, *, provider: str, limit: int = MAX_EVENT_BYTES
) -> AsyncIterator[ServerSentEvent]:
    """Parse ``text/event-stream`` bytes into events (``event:`` and ``data:`` fields; comments ignored).

    An event not terminated by a blank line when the stream ends is dropped, as the SSE spec says: a cut stream
    never delivers half an event. httpx errors propagate untranslated so the caller knows whether content was sent.
    """
    buffer = b""
    event = ""
    data: list[str] = []
    size = 0
    async for part in response.aiter_bytes():
        buffer += part
        while True:
            newline = buffer.find(b"\n")
            if newline < 0:
                break
            raw, buffer = buffer[:newline], buffer[newline + 1 :]
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if data or event:
                    yield ServerSentEvent(event or "message", "\n".join(data))
                event, data, size = "", [], 0
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                size += len(value)
                if size > limit:
                    raise ProviderProtocolError(f"{provider}: stream event exceeds {limit} bytes", provider=provider)
                data.append(value)
            elif field == "event":
                event = value
        if len(buffer) > limit:
            raise ProviderProtocolError(f"{provider}: stream line exceeds {limit} bytes", provider=provider)
