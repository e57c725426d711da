"""Every error leaves the service as JSON ``{"error": {"type", "message"}}`` with a fitting status; never a traceback.

The library's error tree is translated here, at the boundary (see :mod:`ragwright.errors`):

=========================================  ======  =====================
raised                                     status  ``type``
=========================================  ======  =====================
:class:`ApiError` (ours)                   any     its own
request body/params that do not validate   422     ``invalid_request``
unknown route                              404     ``not_found``
``ConfigError`` naming an unknown model    404     ``model_not_found``
``ConfigError`` of a missing secret        503     ``unavailable`` (the server's configuration)
``NotIndexedError`` (embedder mismatch)    503     ``unavailable``
other ``UserError``                        400     ``bad_request``
``RateLimited`` / ``BudgetExceeded``       429     ``rate_limited`` / ``budget_exceeded``
``ContextLengthExceeded``/``ContentFiltered``  400  ``context_length_exceeded`` / ``content_filtered``
other ``GatewayError``                     503     ``upstream_unavailable``
``StoreError``, ``ModelError``             503     ``unavailable``
anything else                              500     ``internal_error`` (logged with an id the client sees)
=========================================  ======  =====================
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragwright.errors import (
    BudgetExceeded,
    ConfigError,
    ContentFiltered,
    ContextLengthExceeded,
    GatewayError,
    ModelError,
    NotIndexedError,
    RagwrightError,
    RateLimited,
    StoreError,
    UserError,
)

log = logging.getLogger("ragwright.http")

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


def _retry_after(seconds: float | None) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))} if seconds else {}


def translate(exc: BaseException) -> ApiError:
    """The :class:`ApiError` a library error becomes (also used for errors inside SSE streams)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotIndexedError):  # the routes answer "nothing indexed yet" themselves; this is a mismatch
        log.error("index unusable: %s", exc)
        return ApiError(503, "unavailable", str(exc))
    if isinstance(exc, ConfigError) and "unknown model" in str(exc):
        return ApiError(404, "model_not_found", str(exc))
    if isinstance(exc, ConfigError) and str(exc).startswith("secret "):  # the server's config, not the caller's
        log.error("configuration: %s", exc)
        return ApiError(503, "unavailable", "a model provider is not configured on the server")
    if isinstance(exc, UserError) and not isinstance(exc, ModelError):
        return ApiError(400, "bad_request", str(exc))
    if isinstance(exc, RateLimited):
        return ApiError(429, "rate_limited", str(exc), headers=_retry_after(exc.retry_after))
    if isinstance(exc, BudgetExceeded):
        return ApiError(429, "budget_exceeded", str(exc))
    if isinstance(exc, ContextLengthExceeded):
        return ApiError(400, "context_length_exceeded", str(exc))
    if isinstance(exc, ContentFiltered):
        return ApiError(400, "content_filtered", str(exc))
    if isinstance(exc, GatewayError):
        return ApiError(503, "upstream_unavailable", str(exc), headers=_retry_after(getattr(exc, "retry_after", None)))
    if isinstance(exc, (StoreError, ModelError)):
        log.error("service unavailable: %s", exc)
        return ApiError(503, "unavailable", str(exc))
    if isinstance(exc, RagwrightError):
        return ApiError(500, "internal_error", str(exc))
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error %s", incident, exc_info=exc)
    return ApiError(500, "internal_error", f"internal error (incident {incident}); the server log has the details")


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
