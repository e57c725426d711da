"""Every error leaves the service as JSON ``{"error": {"type", "message"}}`` with a fitting status; never a traceback.

Library errors are translated by the one table both OpenAI-compatible front ends share
(:mod:`ragwright.errors_http`: 404 unknown model, 429 rate limit or budget with ``Retry-After``, 502/503/504 upstream
failures, 507 disk full, ...). This module adds what only the service has: :class:`ApiError` (raised by routes and
dependencies with their own status), 422 for request bodies that do not validate, and the framework's own 404/405.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragwright.errors import RagwrightError
from ragwright.errors_http import http_error

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
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        err = translate(exc)
        return error_response(err.status, err.type, err.message, err.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_request", _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        type_ = _STATUS_TYPES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else type_.replace("_", " ")
        return error_response(exc.status_code, type_, message, dict(exc.headers or {}))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RagwrightError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_api_error)  # the catch-all: no traceback reaches a client
