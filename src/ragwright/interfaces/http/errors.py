"""Every error leaves the service as JSON ``{"error": {"type", "message"}}`` with a fitting status; never a traceback.

Library errors are translated by the one table both OpenAI-compatible front ends share
(:mod:`ragwright.errors_http`: 404 unknown model, 429 rate limit or budget with ``Retry-After``, 502/503/504 upstream
failures, 507 disk full, ...). This module adds what only the service has: :class:`ApiError` (raised by routes and
dependencies with their own status), 422 for request bodies that do not validate, and the framework's own 404/405.

The status and message come from here and only here. How they are shown is the one thing another front end may
change: the web UI registers an :data:`ErrorPage` (``app.state.error_page``, :mod:`ragwright.ui.error_pages`) that
answers its own pages' errors with an HTML page, or an HTML fragment for htmx; every ``/v1`` route, and every request
that does not ask for HTML, keeps the JSON body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragwright.errors import RagwrightError
from ragwright.errors_http import http_error
from ragwright.observability.requests import current_request_id

_STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with its HTTP status, raised by routes and dependencies.

    Example::

        raise ApiError(404, "not_found", "no document 'a.md' in knowledge base 'default'")
    """

    def __init__(self, status: int, type_: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers or {}


def error_body(type_: str, message: str) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message}}


def error_response(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(type_, message), status_code=status, headers=headers)


ErrorPage = Callable[[Request, ApiError], Awaitable[Response | None]]
"""How another front end shows an error of the map (None: the JSON body), set as ``app.state.error_page``."""


async def respond(request: Request, err: ApiError) -> Response:
    """``err`` as the client asked for it: the registered :data:`ErrorPage`'s answer, else the JSON error body."""
    page: ErrorPage | None = getattr(request.app.state, "error_page", None)
    shown = await page(request, err) if page is not None else None
    return shown if shown is not None else error_response(err.status, err.type, err.message, err.headers)


def translate(exc: BaseException) -> ApiError:
    """The :class:`ApiError` a library error becomes (also used for errors inside SSE streams)."""
    if isinstance(exc, ApiError):
        return exc
    err = http_error(exc)
    return ApiError(err.status, err.type, err.message, headers=err.headers())


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        return await respond(request, translate(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # answered outside every middleware (Starlette's ServerErrorMiddleware), so the request id is added here
        response = await on_api_error(request, exc)
        request_id = current_request_id()
        if request_id is not None and "x-request-id" not in response.headers:
            response.headers["X-Request-Id"] = request_id
        return response

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await respond(request, ApiError(422, "invalid_request", _validation_message(exc)))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        type_ = _STATUS_TYPES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else type_.replace("_", " ")
        return await respond(request, ApiError(exc.status_code, type_, message, headers=dict(exc.headers or {})))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RagwrightError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)  # the catch-all: no traceback reaches a client
