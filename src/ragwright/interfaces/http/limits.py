"""Request limits: body size (an ASGI middleware), per-key rate limits (the `limits` library), and timeouts.

The body limit checks ``Content-Length`` up front and also counts the bytes actually received, so a chunked or lying
request cannot get past it. Uploads (``POST /v1/documents``) get ``service.max_upload_mb``; everything else
``service.max_body_mb``.

Example::

    app.add_middleware(BodyLimit, max_body=1 << 20, max_upload=50 << 20)
    limiter = KeyRateLimiter(rpm=600)
    await limiter.check("a1b2c3d4e5f6")  # raises ApiError(429) with Retry-After when over
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragwright.interfaces.http.errors import ApiError, error_body

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


class KeyRateLimiter:
    """Requests per minute per API key, over a moving window. ``rpm=None`` disables it.

    Uses the `limits` library's asyncio API (``async+memory://``): its thread-based memory storage starts a timer
    thread to expire entries, which cost more than the rest of the check on every lightly loaded request.
    """

    def __init__(self, rpm: int | None, storage: str = "memory://") -> None:
        self.item = RateLimitItemPerMinute(rpm) if rpm else None
        uri = storage if storage.startswith("async+") else "async+" + storage
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def check(self, key_id: str) -> None:
        if self.item is None:
            return
        if not await self._limiter.hit(self.item, "key", key_id):
            stats = await self._limiter.get_window_stats(self.item, "key", key_id)
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise ApiError(429, "rate_limited", f"rate limit of {self.item.amount} requests per minute reached for "
                           f"this key; retry in {wait}s", headers={"Retry-After": str(wait)})


async def run_blocking(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """Run a synchronous library call on a worker thread; 503 if it takes longer than ``timeout`` seconds.

    The thread cannot be killed, so it finishes in the background; the client is told at once.
    """
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(lambda: fn(*args), abandon_on_cancel=True)
    except TimeoutError:
        raise ApiError(503, "timeout", f"the request took longer than {timeout:g}s") from None
