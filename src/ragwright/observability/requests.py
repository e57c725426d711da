"""Request ids: every response of ``serve``, ``gateway serve`` and ``mcp --http`` carries ``X-Request-Id``.

A client's own id is kept when it is sane (1-128 characters from ``A-Z a-z 0-9 . _ : -``: what tracing systems and
load balancers send, nothing that could break a log line or a header); anything else is replaced by a fresh id, never
echoed. The id of the request being served, with its tenant and key id once the key is verified, is in a context
variable (:func:`current`) that the structured log formatter reads, and front doors put it on the gateway's
``RequestContext`` so the usage rows of one question share it.

Example::

    app = RequestIdMiddleware(app)        # an ASGI app: reads/creates the id, adds the response header
    current().request_id                  # inside the request: '5f3a9c0e1b2d4a67-1c'
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "HEADER",
    "RequestIdMiddleware",
    "RequestInfo",
    "current",
    "current_request_id",
    "new_request_id",
    "serving",
]

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_PREFIX = os.urandom(8).hex()
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A fresh id: a random per-process prefix and a counter (unique across processes, cheap on the hot path)."""
    return f"{_PREFIX}-{next(_COUNTER):x}"


def accept(raw: bytes | None) -> str:
    """The client's id when it is sane, else a fresh one."""
    if raw is not None and _SANE.match(raw):
        return raw.decode("ascii")
    return new_request_id()


@dataclass(slots=True)
class RequestInfo:
    """What logs say about the request being served: its id, and the tenant and key id once the key is known."""

    request_id: str
    tenant: str | None = None
    key_id: str | None = None


_CURRENT: ContextVar[RequestInfo | None] = ContextVar("ragwright_request", default=None)


def current() -> RequestInfo | None:
    """The request being served in this context (None outside a request)."""
    return _CURRENT.get()


def current_request_id() -> str | None:
    info = _CURRENT.get()
    return None if info is None else info.request_id


def begin(request_id: str) -> RequestInfo:
    """Mark this context as serving ``request_id`` (the middleware does it; tests and the proxy too)."""
    info = RequestInfo(request_id)
    _CURRENT.set(info)
    return info


@contextmanager
def serving() -> Iterator[RequestInfo]:
    """The request being served inside the block: the current one (an HTTP request's), else a fresh id for just this
    block (a tool call over MCP stdio, which has no request of its own); the context is restored after it."""
    info = _CURRENT.get()
    if info is not None:
        yield info
        return
    info = RequestInfo(new_request_id())
    token = _CURRENT.set(info)
    try:
        yield info
    finally:
        _CURRENT.reset(token)


def identify(tenant: str, key_id: str | None) -> None:
    """Record who the request is from, once its key is verified (read by the log formatter)."""
    info = _CURRENT.get()
    if info is not None:
        info.tenant, info.key_id = tenant, key_id


def incoming(scope: Scope) -> bytes | None:
    """The first ``X-Request-Id`` header of a request, raw."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return bytes(value)
    return None


class RequestIdMiddleware:
    """ASGI middleware: accept or create the request id, expose it in :func:`current`, echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = begin(accept(incoming(scope)))
        header = (HEADER, info.request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
