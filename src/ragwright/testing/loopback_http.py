"""A tiny HTTP/1.1 server on 127.0.0.1 for fault-injection tests, and the :class:`Plan` that scripts each reply.

Written on raw asyncio streams (no web framework) so a test controls every byte: it can hang, drop the connection,
cut a chunked body half-way, lie about the content type, or send more than a client should accept. The server runs
its own event loop in a daemon thread, so both sync and async tests can use it, and it starts in a few milliseconds.

:mod:`ragwright.testing.provider_servers` builds the OpenAI and Anthropic look-alikes on it; this module holds the
transport and the fault vocabulary.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from ragwright.gateway.types import ToolCall, Usage

__all__ = ["LoopbackServer", "Plan", "Received", "Reply", "closed_port_url", "sse"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}


@dataclass(frozen=True)
class Plan:
    """How the server answers one request. The default plan is a healthy reply; each field adds one fault.

    ``text=None`` lets the server decide the reply (it echoes the last user message, calls the first tool when
    tools are offered, answers JSON when a response format asks for it). ``usage`` gives exact token counts in the
    gateway's convention (input includes cached, output includes reasoning); otherwise words are counted.
    """

    text: str | None = None
    usage: Usage | None = None
    cache_creation_tokens: int = 0
    """Anthropic only: input tokens written to the prompt cache (reported beside input_tokens)."""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    """Override the finish reason (OpenAI: 'length', 'content_filter'; Anthropic stop_reason: 'refusal', ...)."""
    status: int = 200
    error_code: str = ""
    error_message: str = ""
    echo_auth: bool = False
    """Error replies quote the request's credentials (``Incorrect API key provided: Bearer sk-...``), as some
    providers and proxies do: what the gateway must never pass on."""
    retry_after: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    """Seconds before the response headers."""
    first_token_delay: float = 0.0
    """Streams: seconds between the headers and the first event."""
    chunk_delay: float = 0.0
    cut_after: int | None = None
    """Streams: abort the connection after this many events (the chunked body never completes)."""
    error_event_after: int | None = None
    """Streams: send a provider error event after this many events, then end the stream."""
    end_marker: bool = True
    """Streams: False ends the body cleanly but without the finish / [DONE] / message_stop events."""
    hang: bool = False
    """Read the request and never answer (until the client gives up)."""
    drop: bool = False
    """Close the connection without answering."""
    malformed: bool = False
    """Reply (or the first stream event) is not valid JSON."""
    content_type: str | None = None
    """Send this content type (and an HTML body unless the reply is otherwise shaped)."""
    body_bytes: int | None = None
    """Send a reply body (or one stream line) of this many bytes."""
    declare_length: bool = True
    """With ``body_bytes``: False sends it chunked, without Content-Length, so the client must count."""
    vector_dim: int | None = None
    """Embedding servers: send vectors of this many dimensions instead of the model's."""


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    """The decoded JSON body, or the raw text when it is not JSON."""


def closed_port_url() -> str:
    """``http://127.0.0.1:PORT`` for a port with nothing listening (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Reply:
    """What :meth:`LoopbackServer.respond` hands to the transport: a whole body or a list of stream pieces."""

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        *,
        content_type: str = "application/json",
        headers: tuple[tuple[str, str], ...] = (),
        events: list[bytes] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers
        self.events = events


class LoopbackServer:
    """Base server: subclasses implement :meth:`respond` (the provider's wire format).

    Example::

        with OpenAIServer() as server:              # a subclass
            server.enqueue(Plan(status=503), Plan(text="fine"))
            ...                                     # point a client at server.base_url
            assert server.request_count == 2
    """

    def __init__(
        self, *, default: Plan | None = None, keep_requests: int = 1000, tls: ssl.SSLContext | None = None
    ) -> None:
        self.default = default or Plan()
        self.tls = tls
        """A server-side TLS context: serve HTTPS (e.g. with a ``trustme`` certificate) instead of HTTP."""
        self.requests: collections.deque[Received] = collections.deque(maxlen=keep_requests)
        """The latest ``keep_requests`` requests (bounded, so a long benchmark does not grow the heap)."""
        self._count = 0
        self.connections = 0
        """TCP connections accepted (a client that pools connections opens few)."""
        self._in_flight = 0
        self.max_in_flight = 0
        """The most requests this server was answering at once (its loop is single-threaded: exact)."""
        self._plans: collections.deque[Plan] = collections.deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- control (any thread) -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client's ``base_url`` should be (subclasses add the API prefix)."""
        return self.url

    @property
    def request_count(self) -> int:
        """Every request received since start (or the last ``reset``)."""
        return self._count

    def enqueue(self, *plans: Plan) -> None:
        """Answer the next requests with these plans, in order; then fall back to ``default``."""
        with self._lock:
            self._plans.extend(plans)

    def reset(self) -> None:
        """Forget queued plans, recorded requests and counts (the default plan stays)."""
        with self._lock:
            self._plans.clear()
            self.requests.clear()
            self._count = 0
            self.connections = 0
            self.max_in_flight = self._in_flight

    def start(self) -> LoopbackServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        if not ready.wait(10) or not self.port:
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.create_task, self._shutdown())
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> LoopbackServer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # -- the server thread -----------------------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=512, ssl=self.tls)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        asyncio.get_running_loop().stop()

    def _next_plan(self) -> Plan:
        with self._lock:
            return self._plans.popleft() if self._plans else self.default

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                self._count += 1
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
                try:
                    answered = await self._answer(request, reader, writer)
                finally:
                    self._in_flight -= 1
                if not answered:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _answer(self, request: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        plan = self._next_plan()
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if plan.drop:
            return False
        if plan.hang:
            while await reader.read(65536):
                pass
            return False
        reply = self.respond(request, plan)
        headers = [("content-type", reply.content_type), *reply.headers, *plan.headers]
        if plan.retry_after is not None:
            headers.append(("retry-after", plan.retry_after))
        if reply.events is None:
            if plan.body_bytes is not None and not plan.declare_length:
                return await _send_chunked(writer, reply.status, headers, [reply.body], plan)
            headers.append(("content-length", str(len(reply.body))))
            writer.write(_head(reply.status, headers) + reply.body)
            await writer.drain()
            return True
        return await _send_chunked(writer, reply.status, headers, reply.events, plan)

    def respond(self, request: Received, plan: Plan) -> Reply:
        """The reply for ``request`` under ``plan`` (subclasses speak their provider's format)."""
        raise NotImplementedError


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_chunked(
    writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], pieces: list[bytes], plan: Plan
) -> bool:
    headers = [*headers, ("transfer-encoding", "chunked"), ("cache-control", "no-cache")]
    writer.write(_head(status, headers))
    await writer.drain()
    for i, piece in enumerate(pieces):
        if plan.cut_after is not None and i >= plan.cut_after:
            writer.transport.abort()  # the chunked body never completes: the client sees the connection die
            return False
        delay = plan.first_token_delay if i == 0 else plan.chunk_delay
        if delay:
            await asyncio.sleep(delay)
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    raw = await reader.readexactly(length) if length else b""
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = raw.decode("utf-8", errors="replace")
    return Received(method, path.split("?", 1)[0], headers, body)


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE event (``data`` JSON-encoded unless it is already a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()
