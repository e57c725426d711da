"""`PooledTransport` and `LeanAsyncClient` under the OpenAI adapter: the same outcome as httpx's own client and
transport for every scripted fault, keep-alive reuse, 200 concurrent calls, abandoned streams, a stale keep-alive
connection replaced once, and httpx's own path for requests that need it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ragwright.config import TimeoutSettings
from ragwright.errors import GatewayError
from ragwright.gateway.base import collect
from ragwright.gateway.lean_client import LeanAsyncClient
from ragwright.gateway.providers.http import httpx_timeout, make_client
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.transport import PooledTransport
from ragwright.gateway.types import ChatRequest, Message
from ragwright.testing.provider_servers import (
    OpenAIServer,
    Plan,
    closed_port_url,
    cut_stream,
    drop_connection,
    hang,
    malformed_json,
    oversized,
    rate_limited,
    server_error,
    slow_first_token,
    wrong_content_type,
)

TIGHT = TimeoutSettings(connect=30, first_token=0.2, total=0.3)
"""For the faults that end in a first-token or total timeout; connecting may take long on a loaded machine without
turning them into connect timeouts."""
ROOMY = TimeoutSettings(connect=10, first_token=10, total=20)
"""For faults whose outcome is not a timeout: a 17 MB body on a loaded 2-core machine can take longer than TIGHT."""
PATIENT = TimeoutSettings(connect=60, first_token=120, total=120)
"""For many calls at once, where no outcome is a timeout."""
TEXT = "one two three four five six seven eight"
REQ = ChatRequest(model="x", messages=(Message("user", "count to eight"),), max_tokens=32)


def pooled_client(timeout: TimeoutSettings = TIGHT) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=PooledTransport(), timeout=httpx_timeout(timeout), follow_redirects=False, trust_env=False
    )


def lean_client(timeout: TimeoutSettings = TIGHT) -> httpx.AsyncClient:
    return LeanAsyncClient(transport=PooledTransport(), timeout=httpx_timeout(timeout))


@pytest.fixture(scope="module")
def _server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def server(_server: OpenAIServer) -> OpenAIServer:
    _server.reset()
    _server.default = Plan()
    return _server


async def outcome(
    server: OpenAIServer,
    client: httpx.AsyncClient,
    plan: Plan | None,
    *,
    stream: bool,
    base_url: str | None = None,
    timeout: TimeoutSettings = TIGHT,
) -> tuple[str, object]:
    """What one call ends in: ('ok', text) or (error type name, the fields that matter)."""
    if plan is not None:
        server.enqueue(plan)
    model = OpenAIChatModel(
        "gpt-4o-mini", base_url=base_url or server.base_url, api_key="k", client=client, timeout=timeout
    )
    try:
        reply = await (collect(model.stream(REQ)) if stream else model.chat(REQ))
    except GatewayError as exc:
        return type(exc).__name__, (
            getattr(exc, "status", None),
            getattr(exc, "retry_after", None),
            getattr(exc, "phase", None),
            exc.transient,
        )
    return "ok", reply.text


FAULTS = [
    ("healthy", Plan(text=TEXT)),
    ("429", rate_limited(2)),
    ("503", server_error(503)),
    ("dropped", drop_connection()),
    ("hang", hang()),
    ("slow first token", slow_first_token(1.0, text=TEXT)),
    ("cut stream", cut_stream(3, text=TEXT)),
    ("malformed json", malformed_json()),
    ("wrong content type", wrong_content_type()),
    ("oversized", oversized()),
]


@pytest.mark.parametrize("make", [pooled_client, lean_client], ids=["pooled", "lean"])
@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize(("name", "plan"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_every_fault_ends_as_it_does_with_httpx_own_transport(
    server: OpenAIServer, name: str, plan: Plan, stream: bool, make: Any
) -> None:
    # only the faults that end in a timeout get the tight deadlines ("slow first token" does only when streamed: a
    # whole reply that arrives at once must not race a 0.3 s deadline on a loaded machine)
    timeout = TIGHT if name == "hang" or (stream and name == "slow first token") else ROOMY
    reference, ours = make_client(timeout), make(timeout)
    try:
        expected = await outcome(server, reference, plan, stream=stream, timeout=timeout)
        got = await outcome(server, ours, plan, stream=stream, timeout=timeout)
    finally:
        await reference.aclose()
        await ours.aclose()
    assert got == expected
    if name == "healthy" or (not stream and name in ("slow first token", "cut stream")):  # stream-only faults
        assert got == ("ok", TEXT)
    else:
        assert got[0] != "ok"


@pytest.mark.parametrize("make", [pooled_client, lean_client], ids=["pooled", "lean"])
async def test_connection_refused_is_a_connection_error(server: OpenAIServer, make: Any) -> None:
    async with make() as client:
        kind, fields = await outcome(server, client, None, stream=False, base_url=closed_port_url() + "/v1")
    assert kind == "ProviderConnectionError"


@pytest.mark.parametrize("make", [pooled_client, lean_client], ids=["pooled", "lean"])
async def test_keep_alive_reuses_one_connection_for_calls_and_streams(server: OpenAIServer, make: Any) -> None:
    async with make() as client:
        model = OpenAIChatModel("m", base_url=server.base_url, client=client)
        for _ in range(5):
            assert (await model.chat(REQ)).text
            assert (await collect(model.stream(REQ))).text
    assert server.request_count == 10 and server.connections == 1


async def test_two_hundred_concurrent_calls(server: OpenAIServer) -> None:
    server.default = Plan(text=TEXT, delay=0.01)
    # deadlines far above what the wire needs: 200 calls at once on a loaded 2-core machine can keep one waiting for
    # seconds, and this test is about connection reuse, not timeouts
    async with lean_client(PATIENT) as client:
        model = OpenAIChatModel("m", base_url=server.base_url, client=client)
        replies = await asyncio.gather(*[model.chat(REQ) for _ in range(200)])
        again = await asyncio.gather(*[model.chat(REQ) for _ in range(200)])
    assert all(r.text == TEXT for r in [*replies, *again])
    # the second wave reuses the 64 connections kept idle (max_keepalive) and opens the rest
    assert server.request_count == 400 and server.connections <= 400 - 64


async def test_an_abandoned_stream_closes_its_connection_and_the_pool_goes_on(server: OpenAIServer) -> None:
    server.default = Plan(text="one two three four five six", chunk_delay=0.01)
    transport = PooledTransport()
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
        model = OpenAIChatModel("m", base_url=server.base_url, client=client)
        for _ in range(3):
            stream = model.stream(REQ)
            async for _chunk in stream:
                break
            await stream.aclose()  # type: ignore[attr-defined]
        idle = [c for stack in transport._idle.values() for c in stack]
        assert all(c.reusable for c in idle)  # nothing half-read went back into the pool
        assert (await model.chat(REQ)).text == "one two three four five six"


async def test_a_stale_keep_alive_connection_is_replaced_once() -> None:
    """The server answers the first request of each connection and drops the connection on the second, unanswered:
    the transport retries that request once on a fresh connection."""
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            n += 1
            seen.append(n)
            if n > 1:
                break
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv, httpx.AsyncClient(transport=PooledTransport(), timeout=5.0) as client:
        first = await client.post(f"http://127.0.0.1:{port}/x", content=b"a")
        second = await client.post(f"http://127.0.0.1:{port}/x", content=b"b")
    assert (first.text, second.text) == ("ok", "ok")
    assert seen == [1, 2, 1]  # conn 1: answered, then dropped unanswered; conn 2: answered


async def test_chunked_and_close_delimited_bodies() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/chunked" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv, httpx.AsyncClient(transport=PooledTransport(), timeout=5.0) as client:
        chunked = await client.get(f"http://127.0.0.1:{port}/chunked")
        closed = await client.get(f"http://127.0.0.1:{port}/close")
    assert chunked.text == "abcde" and closed.text == "until the end"


async def test_lean_client_merges_default_headers_and_defers_to_httpx_when_asked_for_more() -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            seen.append(head)
            if b"content-length:" in head.lower():
                await reader.readexactly(int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]))
            if b"/redirect" in head.split(b"\r\n")[0]:
                writer.write(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /done\r\ncontent-length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nset-cookie: a=1\r\n\r\nok")
            await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    async with srv, lean_client() as client:
        plain = await client.send(client.build_request("POST", f"{base}/x", content=b"{}", headers={"x-k": "v"}))
        with_params = await client.get(f"{base}/q", params={"a": "1"})
        redirected = await client.get(f"{base}/redirect", follow_redirects=True)
    assert plain.text == "ok" and plain.request.url.path == "/x"
    first = seen[0].lower()
    assert b"x-k: v" in first and b"user-agent: python-httpx" in first and b"content-length: 2" in first
    assert with_params.text == "ok" and seen[1].startswith(b"GET /q?a=1 ")
    assert redirected.text == "ok" and [h.split(b" ")[1] for h in seen[2:]] == [b"/redirect", b"/done"]


async def test_max_connections_queues_requests_and_frees_slots_after_failures(server: OpenAIServer) -> None:
    server.default = Plan(text=TEXT, delay=0.02)
    async with LeanAsyncClient(transport=PooledTransport(max_connections=4), timeout=httpx.Timeout(5.0)) as client:
        model = OpenAIChatModel("m", base_url=server.base_url, client=client)
        replies = await asyncio.gather(*[model.chat(REQ) for _ in range(20)])
    assert all(r.text == TEXT for r in replies) and server.connections <= 4
    # one slot: every failure must give it back, or the next call would wait for a slot forever
    async with LeanAsyncClient(
        transport=PooledTransport(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.5)
    ) as client:
        # the hang ends after 5 s; the healthy calls around it get as long (TIGHT's 0.3 s could end one on a loaded
        # machine); a slot not given back makes the last call wait for the pool (30 s) and fail
        bounded = TimeoutSettings(connect=30, first_token=5, total=5)
        model = OpenAIChatModel("m", base_url=server.base_url, client=client, timeout=bounded)
        assert (await model.chat(REQ)).text == TEXT
        server.enqueue(drop_connection(), drop_connection(), hang())
        for _ in range(2):  # a drop (the reused connection, then the fresh one it retries on), then a timeout
            with pytest.raises(GatewayError):
                await model.chat(REQ)
        assert (await model.chat(REQ)).text == TEXT


async def test_a_full_pool_times_out_as_pool_timeout(server: OpenAIServer) -> None:
    server.enqueue(hang())
    async with LeanAsyncClient(
        transport=PooledTransport(max_connections=1), timeout=httpx.Timeout(30.0, pool=0.1)
    ) as client:
        url = f"{server.base_url}/chat/completions"
        body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
        stuck = asyncio.ensure_future(client.post(url, content=body))
        deadline = asyncio.get_running_loop().time() + 60
        while server.request_count == 0:  # until the hung request holds the only connection
            assert asyncio.get_running_loop().time() < deadline and not stuck.done()
            await asyncio.sleep(0.01)
        with pytest.raises(httpx.PoolTimeout):
            await client.post(url, content=body)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        ok = await client.post(url, content=body)  # the cancelled request freed its slot
        assert ok.status_code == 200
