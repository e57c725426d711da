"""Request limits: body size (an ASGI middleware), per-key rate limits, and timeouts.

The body limit checks ``Content-Length`` up front and also counts the bytes actually received, so a chunked or lying
request cannot get past it. Uploads (``POST /v1/documents``) get ``service.max_upload_mb``; everything else
``service.max_body_mb``.

Rate limits are a moving window of one minute per key: in this process's memory for ``memory://`` (the default), in a
SQLite file shared by the processes of one machine for ``sqlite://`` (what ``serve --workers N`` uses unless told
otherwise; see :mod:`ragwright.interfaces.http.ratelimit_sqlite`), else through the `limits` library's asyncio
storages (``redis://...`` shares the window between machines).

Example::

    app.add_middleware(BodyLimit, max_body=1 << 20, max_upload=50 << 20)
    limiter = KeyRateLimiter(rpm=600)
    await limiter.check("a1b2c3d4e5f6")  # raises ApiError(429) with Retry-After when over
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragwright.interfaces.http.errors import ApiError, error_body
from ragwright.interfaces.http.ratelimit_sqlite import SQLITE_SCHEME, SqliteWindow, sqlite_path

T = TypeVar("T")
UPLOAD_PATH = "/v1/documents"


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so FastAPI's body parser passes it through (it re-raises HTTPException)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit / 1048576:g} MB")


class BodyLimit:
    """Pure ASGI middleware refusing bodies over a size limit with a JSON 413."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == UPLOAD_PATH
        limit = self.max_upload if is_upload else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(error_body("payload_too_large", f"request body is larger than {limit / 1048576:g} MB")).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class MemoryWindow:
    """Hits per key over a moving window, in memory: what the `limits` library's moving window does, without its
    per-hit task and thread hop (its asyncio memory storage sends every expiry pass to a worker thread).

    Example::

        window = MemoryWindow(amount=2, seconds=60)
        window.hit("k"), window.hit("k"), window.hit("k")   # True, True, False
        window.reset_time("k")                              # when the oldest hit leaves the window
    """

    def __init__(self, amount: int, seconds: float = 60.0, *, clock: Callable[[], float] = time.time) -> None:
        self.amount = amount
        self.seconds = seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + seconds

    def hit(self, key: str) -> bool:
        """Record a hit unless ``amount`` hits already fall within the window; True when recorded."""
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            cutoff = now - self.seconds
            while hits and hits[0] < cutoff:
                hits.popleft()
            if len(hits) >= self.amount:
                return False
            hits.append(now)
            return True

    def reset_time(self, key: str) -> float:
        """When the oldest hit in the window expires (now, when there is none)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            cutoff = now - self.seconds
            while hits and hits[0] < cutoff:
                hits.popleft()
            return hits[0] + self.seconds if hits else now

    def _sweep(self, now: float) -> None:
        cutoff = now - self.seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] < cutoff]:
            del self._hits[key]
        self._next_sweep = now + self.seconds


class Window(Protocol):
    """A moving window of hits per key (:class:`MemoryWindow`, :class:`SqliteWindow`)."""

    def hit(self, key: str) -> bool: ...

    def reset_time(self, key: str) -> float: ...


class KeyRateLimiter:
    """Requests per minute per API key, over a moving window. ``rpm=None`` disables it.

    ``memory://`` keeps the window in this process (:class:`MemoryWindow`); ``sqlite://`` in
    ``<data_dir>/ratelimit.sqlite`` (``sqlite:///path`` for another file), shared by every process that opens it
    (:class:`SqliteWindow`); other storage URIs go through the `limits` library's asyncio API (``async+<uri>``).
    ``clock`` (seconds since the epoch) is for tests.
    """

    def __init__(self, rpm: int | None, storage: str = "memory://", *, data_dir: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.item = RateLimitItemPerMinute(rpm) if rpm else None
        self._clock = clock
        self._window: Window | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        plain = storage.removeprefix("async+")
        if not rpm:
            return
        if plain == "memory://":
            self._window = MemoryWindow(rpm, clock=clock)
        elif plain.startswith(SQLITE_SCHEME):
            self._window = SqliteWindow(sqlite_path(plain, data_dir), rpm, clock=clock)
        else:
            uri = storage if storage.startswith("async+") else "async+" + storage
            self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def check(self, key_id: str) -> None:
        if self.item is None:
            return
        if self._window is not None:
            if self._window.hit(key_id):
                return
            reset = self._window.reset_time(key_id)
        else:
            assert self._limiter is not None
            if await self._limiter.hit(self.item, "key", key_id):
                return
            reset = (await self._limiter.get_window_stats(self.item, "key", key_id)).reset_time
        wait = max(1, math.ceil(reset - self._clock()))
        raise ApiError(429, "rate_limited", f"rate limit of {self.item.amount} requests per minute reached for "
                       f"this key; retry in {wait}s", headers={"Retry-After": str(wait)})


# Request threads: as many as anyio's default limiter allowed (40), in a pool of their own so that a search costs one
# executor hop (anyio's to_thread plus a cancel scope cost 80 us of CPU per call; this, about 35 us).
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="ragwright-request")


async def run_blocking(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run a synchronous library call on a worker thread; 503 if it takes longer than ``timeout`` seconds.

    The thread cannot be killed, so it finishes in the background; the client is told at once.
    """
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    future = asyncio.get_running_loop().run_in_executor(_POOL, call)
    try:
        async with asyncio.timeout(timeout):
            return await future
    except TimeoutError:
        raise ApiError(503, "timeout", f"the request took longer than {timeout:g}s") from None
