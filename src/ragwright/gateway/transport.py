"""`PooledTransport`: a lean HTTP/1.1 keep-alive transport for the gateway's shared ``httpx.AsyncClient``.

Why: httpx's default transport (httpcore) scans its whole pool on every request and event; with a few dozen
concurrent calls its cost grows so fast that a proxy in front of a fast upstream collapses from ~1,300 to under
100 requests/s on two cores (measured in bench/gateway_overhead.py; encode/httpx#3215). This transport keeps
httpx's API (requests, responses, streaming, timeouts and exception types, so the provider adapters and their error
translation are unchanged) and replaces only the wire: asyncio protocols, responses parsed by ``httptools`` (the C
parser uvicorn uses), a LIFO stack of idle connections per origin, O(1) per request.

Scope: HTTP/1.1 over TCP or TLS, no proxies, no HTTP/2, no ``Expect: 100-continue``. A reused idle connection the
server had already closed is replaced once, transparently, when nothing of the response was received.

Example::

    client = httpx.AsyncClient(transport=PooledTransport(), timeout=httpx.Timeout(30.0))
    r = await client.post("http://127.0.0.1:8000/v1/chat/completions", json=payload)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator

import httptools
import httpx

__all__ = ["PooledTransport"]

_HIGH_WATER = 256 * 1024
"""Buffered response bytes at which the socket stops being read until the caller catches up."""


class _Connection(asyncio.Protocol):
    """One TCP/TLS connection; carries one request/response at a time."""

    def __init__(self, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = 0
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.got_bytes = False
        self.error: httpx.TransportError | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.keep_alive = False
        self.has_length = False

    # -- asyncio.Protocol ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        if self.head_done and not self.complete and not self.has_length and self.error is None and not self._chunked():
            self.complete = True  # a body delimited by the connection closing
        elif not self.complete and self.error is None:
            what = (
                "peer closed connection without sending complete message body"
                if self.head_done
                else "server disconnected without sending a response"
            )
            self.error = httpx.RemoteProtocolError(what) if self.got_bytes or self.head_done else httpx.ReadError(what)
        self._wake()

    def pause_writing(self) -> None:  # request bodies are small; flow control on writes is not needed
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks ------------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if name.lower() == b"content-length":
            self.has_length = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        self._wake()

    # -- used by the transport ----------------------------------------------------------------------------------

    def _chunked(self) -> bool:
        return any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in self.headers)

    def _fail(self, error: httpx.TransportError) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def _wait(self, timeout: float | None, request: httpx.Request) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self.waiter
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
        finally:
            self.waiter = None

    def send(self, data: bytes) -> None:
        self._reset()
        self.used += 1
        assert self.transport is not None
        self.transport.write(data)

    async def read_head(self, timeout: float | None, request: httpx.Request) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self._wait(timeout, request)

    async def read_chunk(self, timeout: float | None, request: httpx.Request) -> bytes | None:
        while True:
            if self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self.paused and self.buffered < _HIGH_WATER // 2 and self.transport is not None:
                    self.transport.resume_reading()
                    self.paused = False
                return chunk
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            await self._wait(timeout, request)

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None and not self.chunks

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


class _Body(httpx.AsyncByteStream):
    def __init__(self, conn: _Connection, pool: PooledTransport, timeout: float | None, request: httpx.Request) -> None:
        self.conn = conn
        self.pool = pool
        self.timeout = timeout
        self.request = request
        self.released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await self.conn.read_chunk(self.timeout, self.request)
                if chunk is None:
                    break
                yield chunk
        except BaseException:
            self.conn.close()
            raise
        await self.aclose()

    async def aclose(self) -> None:
        if not self.released:
            self.released = True
            self.pool._release(self.conn)
            self.pool._slots.release()


class PooledTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive; idle connections are reused last-in first-out, at most ``max_keepalive`` per
    origin, for at most ``keepalive_expiry`` seconds. At most ``max_connections`` requests are in flight at once;
    more wait for a slot up to the request's ``pool`` timeout (then ``httpx.PoolTimeout``)."""

    def __init__(
        self,
        *,
        max_keepalive: int = 64,
        keepalive_expiry: float = 30.0,
        max_connections: int = 512,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_keepalive = max_keepalive
        self._slots = asyncio.Semaphore(max_connections)
        self.keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.TransportError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        data = await _serialise(request)
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no free connection slot in time", request=request) from None
        else:
            await self._slots.acquire()
        try:
            return await self._exchange(request, origin, data, timeouts, read_timeout)
        except BaseException:
            self._slots.release()
            raise

    async def _exchange(
        self,
        request: httpx.Request,
        origin: tuple[str, str, int],
        data: bytes,
        timeouts: dict[str, float | None],
        read_timeout: float | None,
    ) -> httpx.Response:
        for attempt in (0, 1):
            conn = self._take(origin) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"), request)
            try:
                conn.send(data)
                await conn.read_head(read_timeout, request)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                conn.close()
                if reused and attempt == 0 and not conn.got_bytes:
                    continue  # the server had closed this idle connection: one fresh try
                raise
            except BaseException:
                conn.close()
                raise
            headers = [(n, v) for n, v in conn.headers]
            return httpx.Response(
                conn.status,
                headers=headers,
                stream=_Body(conn, self, read_timeout, request),
                extensions={"http_version": b"HTTP/1.1"},
            )
        raise AssertionError("unreachable")

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        stack = self._idle.get(origin)
        if not stack:
            return None
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive_expiry:
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        if self._closed or not conn.reusable:
            conn.close()
            return
        stack = self._idle.setdefault(conn.origin, [])
        if len(stack) >= self.max_keepalive:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        stack.append(conn)

    async def _connect(
        self, origin: tuple[str, str, int], timeout: float | None, request: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        ctx: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            ctx = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin), host, port, ssl=ctx, server_hostname=host if ctx else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from None
        return conn

    async def aclose(self) -> None:
        self._closed = True
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()


async def _serialise(request: httpx.Request) -> bytes:
    body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
    url = request.url
    target = url.raw_path
    lines = [request.method.encode(), b" ", target, b" HTTP/1.1\r\n"]
    has_length = False
    for name, value in request.headers.raw:
        low = name.lower()
        if low == b"content-length":
            has_length = True
        elif low == b"transfer-encoding":
            continue  # the body is sent whole, with a length
        lines += [name, b": ", value, b"\r\n"]
    if not has_length and (body or request.method in ("POST", "PUT", "PATCH")):
        lines += [b"Content-Length: ", str(len(body)).encode(), b"\r\n"]
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)
