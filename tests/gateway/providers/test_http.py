"""The shared HTTP plumbing: Retry-After parsing, the SSE reader, the capped body reader, error translation and the
one-client-per-event-loop helper."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import Counter

import httpx
import pytest

from ragwright.config import TimeoutSettings
from ragwright.errors import ProviderConnectionError, ProviderProtocolError, ProviderTimeout, StreamInterrupted
from ragwright.gateway.providers.http import (
    aclose_shared_clients,
    iter_sse,
    make_client,
    parse_retry_after,
    read_body,
    shared_client,
    translate_error,
)
from ragwright.testing.provider_servers import OpenAIServer, Plan, hang


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), (" 0.5 ", 0.5), ("-3", 0.0), ("", None), (None, None), ("soon", None), ("nan", None), ("inf", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 120, usegmt=True), now=now) == pytest.approx(120)
    assert parse_retry_after(email.utils.formatdate(now - 120, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=now) is None  # no zone: not an HTTP date


def _response(body: bytes | list[bytes], headers: dict[str, str] | None = None) -> httpx.Response:
    parts = body if isinstance(body, list) else [body]

    class Parts(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def,override]
            for p in parts:
                yield p

    return httpx.Response(200, headers=headers or {}, stream=Parts())


async def test_sse_reader_handles_crlf_comments_multiline_and_split_chunks() -> None:
    raw = [
        b": keep-alive\r\n\r\nevent: message_start\r\nda",
        b'ta: {"a":\r\ndata:  1}\r\n\r\n',
        b"data: [DONE]\n\n",
        b"data: half an event with no blank line",
    ]
    events = [e async for e in iter_sse(_response(raw), provider="p")]
    assert [(e.event, e.data) for e in events] == [("message_start", '{"a":\n 1}'), ("message", "[DONE]")]


async def test_sse_reader_caps_lines() -> None:
    with pytest.raises(ProviderProtocolError, match="exceeds"):
        _ = [e async for e in iter_sse(_response([b"data: " + b"x" * 200]), provider="p", limit=100)]
    with pytest.raises(ProviderProtocolError, match="exceeds"):
        _ = [e async for e in iter_sse(_response([b"data: x\n" * 30]), provider="p", limit=20)]


async def test_read_body_cap() -> None:
    assert await read_body(_response([b"ab", b"cd"]), provider="p", limit=4) == b"abcd"
    with pytest.raises(ProviderProtocolError, match="byte cap"):
        await read_body(_response([b"ab", b"cde"]), provider="p", limit=4)
    with pytest.raises(ProviderProtocolError, match="10 bytes exceeds"):
        await read_body(_response([b""], {"content-length": "10"}), provider="p", limit=4)


def test_translate_error() -> None:
    request = httpx.Request("POST", "http://x", extensions={"timeout": {"connect": 1.5, "read": 7.0}})
    connect = translate_error(httpx.ConnectTimeout("t", request=request), provider="p")
    assert isinstance(connect, ProviderTimeout) and connect.phase == "connect" and connect.seconds == 1.5
    read = translate_error(httpx.ReadTimeout("t", request=request), provider="p")
    assert isinstance(read, ProviderTimeout) and read.phase == "total" and read.seconds == 7.0
    first = translate_error(httpx.ReadTimeout("t", request=request), provider="p", streaming=True)
    assert isinstance(first, ProviderTimeout) and first.phase == "first_token"
    refused = translate_error(httpx.ConnectError("refused", request=request), provider="p")
    assert isinstance(refused, ProviderConnectionError) and refused.transient and refused.provider == "p"
    cut = translate_error(
        httpx.RemoteProtocolError("peer closed", request=request), provider="p", streaming=True, started=True
    )
    assert isinstance(cut, StreamInterrupted) and isinstance(cut.cause, ProviderConnectionError)
    assert not cut.transient
    odd = translate_error(httpx.DecodingError("gzip"), provider="p")
    assert isinstance(odd, ProviderProtocolError)


async def test_client_is_pooled_with_configured_timeouts(openai_server: OpenAIServer) -> None:
    """200 requests at once get 200 connections, and 32 finished ones stay open for the next 32 (checked on the
    wire, not in httpx's private pool attributes)."""
    # Deadlines far above what the wire needs: this test is about the pool, not about timeouts. With a 2 s connect
    # timeout, 200 connects at once on a loaded 2-core machine (load 8-15) sometimes had 37 of them end in
    # ConnectTimeout: the event loop, sharing the GIL with the server's thread, took that long to see them complete.
    client = make_client(TimeoutSettings(connect=60.0, first_token=3.0, total=120.0))
    assert client.timeout.connect == 60.0 and client.timeout.read == 120.0 and client.timeout.pool == 60.0
    url = openai_server.base_url + "/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    openai_server.default = hang()
    stuck = [asyncio.ensure_future(client.post(url, json=body)) for _ in range(200)]
    deadline = time.monotonic() + 180  # a bound, not a timing
    while openai_server.request_count < 200 and time.monotonic() < deadline and not any(t.done() for t in stuck):
        await asyncio.sleep(0.01)
    failed = Counter(type(t.exception()).__name__ for t in stuck if t.done())
    assert openai_server.request_count == 200, failed  # none of them waits for a free connection
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)

    openai_server.reset()
    openai_server.default = Plan(delay=0.5)
    for _ in range(2):
        replies = await asyncio.gather(*(client.post(url, json=body) for _ in range(32)))
        assert [r.status_code for r in replies] == [200] * 32
        assert openai_server.connections == 32  # the second wave reuses the first wave's connections
    await client.aclose()


async def test_shared_client_is_one_per_event_loop() -> None:
    a = shared_client()
    assert shared_client() is a and not a.is_closed

    def other_loop() -> httpx.AsyncClient:
        async def get() -> httpx.AsyncClient:
            c = shared_client()
            await aclose_shared_clients()
            return c

        return asyncio.run(get())

    b = await asyncio.to_thread(other_loop)
    assert b is not a and b.is_closed
    await aclose_shared_clients()
    assert a.is_closed and shared_client() is not a
    await aclose_shared_clients()
