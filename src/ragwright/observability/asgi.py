"""`TraceMiddleware`: one SERVER span per HTTP request of an ASGI app, continuing the client's W3C ``traceparent``.

Used by ``serve`` (FastAPI), ``gateway serve`` (the raw ASGI proxy) and the MCP server over HTTP. The span is named
``"{method} {route}"``: the route template once the framework has matched one (``/v1/documents/{doc_id:path}``,
never a document's name), else the path when it is one of ``paths`` (the proxy's fixed routes), else the method
alone, so span names stay a bounded set. The span carries the request's id (``ragwright.request_id``, as an MCP tool
call's span does), which the request-id middleware inside it (or the proxy) accepted or made. With tracing off the
request goes straight to the app.

Example::

    app = TraceMiddleware(proxy, paths=frozenset({"/v1/chat/completions", "/v1/models"}))
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry.trace import StatusCode

from ragwright.observability import tracing
from ragwright.observability.requests import current_request_id
from ragwright.observability.semconv import REQUEST_ID

__all__ = ["TraceMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TraceMiddleware:
    """Wraps an ASGI app with a server span per HTTP request (see the module)."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str] = frozenset(), laps: bool = True) -> None:
        self.app = app
        self.paths = paths
        self.laps = laps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        name = f"{method} {path}" if path in self.paths else method
        status = 0
        started = time.perf_counter()
        responding = 0.0

        async def receive_body() -> Message:
            message = await receive()
            if self.laps and message["type"] == "http.request" and not message.get("more_body", False):
                tracing.lap("http.request", started, time.perf_counter())
            return message

        async def send_status(message: Message) -> None:
            nonlocal status, responding
            if message["type"] == "http.response.start":
                status = int(message["status"])
                responding = time.perf_counter() if self.laps else 0.0
            await send(message)
            if self.laps and message["type"] == "http.response.body" and not message.get("more_body", False):
                tracing.lap("http.response", responding, time.perf_counter())

        with tracing.server_span(name, scope["headers"], {"http.request.method": method}) as span:
            try:
                await self.app(scope, receive_body, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                elif path in self.paths:
                    span.set_attribute("http.route", path)
                request_id = current_request_id()  # set by the app inside, in this task's context
                if request_id is not None:
                    span.set_attribute(REQUEST_ID, request_id)
                if status:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
