"""Request limits: body size (an ASGI middleware), per-key rate limits, and timeouts.

The body limit checks ``Content-Length`` up front and also counts the bytes actually received, so a chunked or lying
request cannot get past it. Uploads (``POST /v1/documents``) get ``service.max_upload_mb``; everything else
``service.max_body_mb``.

Rate limits: :mod:`ragwright.service.ratelimit` (shared with the MCP server); this module turns a refusal into a 429.

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragwright.interfaces.http.errors import ApiError, error_body
from ragwright.observability import tracing
from ragwright.service.ratelimit import RateLimiter

T = TypeVar("T")
UPLOAD_PATH = "/v1/documents"
UPLOAD_PATHS = frozenset((UPLOAD_PATH, "/documents/upload"))
"""POST paths that take document uploads (the API's and the web UI's): ``max_upload_mb``, not ``max_body_mb``."""


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
        is_upload = scope.get("method") == "POST" and scope.get("path", "").rstrip("/") in UPLOAD_PATHS
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
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class KeyRateLimiter(RateLimiter):
    """The HTTP service's per-key limit (:class:`ragwright.service.ratelimit.RateLimiter`): over it, a 429."""

    async def check(self, key_id: str) -> None:
        wait = await self.retry_after(key_id)
        if wait is None:
            return
        assert self.item is not None
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit of {self.item.amount} requests per minute reached for this key; retry in {seconds}s",
            headers={"Retry-After": str(seconds)},
        )


# Request threads: as many as anyio's default limiter allowed (40), in a pool of their own so that a search costs one
# executor hop (anyio's to_thread plus a cancel scope cost 80 us of CPU per call; this, about 35 us).
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="ragwright-request")


async def run_blocking(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run a synchronous library call on a worker thread; 503 if it takes longer than ``timeout`` seconds.

    The thread cannot be killed, so it finishes in the background; the client is told at once.
    """
    job, back = tracing.queued(fn)  # the waits for a thread and back to the event loop are spans
    call = functools.partial(contextvars.copy_context().run, job, *args)
    future = asyncio.get_running_loop().run_in_executor(_POOL, call)
    try:
        async with asyncio.timeout(timeout):
            return await future
    except TimeoutError:
        raise ApiError(503, "timeout", f"the request took longer than {timeout:g}s") from None
    finally:
        back()
