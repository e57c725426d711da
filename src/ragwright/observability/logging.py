"""Structured JSON logs (an option; text stays the terminal default): one JSON object per line, with the request id,
trace and span ids, tenant and key id of the request being served, and never a secret.

``[logging] format = "json"`` in ragwright.toml, ``RAGWRIGHT_LOGGING__FORMAT=json`` or ``--log-format json`` on
``serve``, ``gateway serve`` and ``mcp`` switches every log line of the server (uvicorn's, the access log, ragwright's
own) to :class:`JsonFormatter`. Each line is run through :func:`ragwright.redact.redact` (API keys, bearer
credentials, configured provider secrets) in either format: the text format wraps uvicorn's formatters in
:class:`RedactingFormatter`, so a traceback uvicorn logs for an unhandled exception (``Exception in ASGI
application``), whose text may quote a provider URL or key, is redacted as well. The trace ids come from
OpenTelemetry's current span when ``opentelemetry-api`` is installed and a span is recording; without it, the
fields are left out.

Example line::

    {"ts": "2026-12-03T17:02:11.204Z", "level": "info", "logger": "uvicorn.access", "message": "...",
     "request_id": "5f3a9c0e1b2d4a67-1c", "tenant": "acme", "key_id": "a1b2c3d4e5f6",
     "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
     "http": {"method": "POST", "path": "/v1/answer", "status": 200}}
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any, Literal

from ragwright.observability.requests import current
from ragwright.redact import redact

__all__ = ["LogFormat", "JsonFormatter", "RedactingFormatter", "logging_config"]

LogFormat = Literal["text", "json"]
_ACCESS_ARGS = 5  # uvicorn's access record: (client, method, path, HTTP version, status)
_TraceIds = Callable[[], tuple[str, str] | None]
_trace_ids: _TraceIds | None = None


def _no_trace() -> None:
    return None


def _otel_trace_ids() -> _TraceIds:
    """A function giving the current span's (trace id, span id) in hex, or a stand-in when OpenTelemetry is absent."""
    try:
        from opentelemetry import trace
    except ImportError:
        return _no_trace

    def ids() -> tuple[str, str] | None:
        ctx = trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            return None
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")

    return ids


class JsonFormatter(logging.Formatter):
    """One redacted JSON object per record, with the request's ids (see the module)."""

    def format(self, record: logging.LogRecord) -> str:
        global _trace_ids
        created = time.gmtime(record.created)
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        info = current()
        if info is not None:
            doc["request_id"] = info.request_id
            if info.tenant is not None:
                doc["tenant"] = info.tenant
                doc["key_id"] = info.key_id
        if _trace_ids is None:
            _trace_ids = _otel_trace_ids()
        ids = _trace_ids()
        if ids is not None:
            doc["trace_id"], doc["span_id"] = ids
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == _ACCESS_ARGS:
            doc["http"] = {"method": args[1], "path": str(args[2]).split("?", 1)[0], "status": args[4]}
        if record.exc_info:
            doc["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Another formatter's output (``inner``: ``module.Class``, built with the other arguments), redacted whole:
    message, exception text and traceback, stack.

    Example (a ``dictConfig`` formatter entry)::

        {"()": "ragwright.observability.logging.RedactingFormatter", "inner": "uvicorn.logging.DefaultFormatter",
         "fmt": "%(levelprefix)s %(message)s"}
    """

    def __init__(self, inner: str = "logging.Formatter", **kwargs: Any) -> None:
        super().__init__()
        module, _, name = inner.rpartition(".")
        self._inner: logging.Formatter = getattr(import_module(module), name)(**kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:  # the cache other handlers of this record read: redacted too
            record.exc_text = redact(self._inner.formatException(record.exc_info))
        return redact(self._inner.format(record))


_DICT_FORMATTER_KEYS = {"format": "fmt", "datefmt": "datefmt", "style": "style", "validate": "validate"}


def _redacting(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``dictConfig`` formatter ``entry`` wrapped in :class:`RedactingFormatter`."""
    rest = dict(entry)
    if "()" in rest:
        inner = rest.pop("()")
        inner = inner if isinstance(inner, str) else f"{inner.__module__}.{inner.__qualname__}"
    else:  # the plain form: class, format, datefmt, style
        inner = rest.pop("class", "logging.Formatter")
        rest = {_DICT_FORMATTER_KEYS.get(k, k): v for k, v in rest.items()}
    return {"()": f"{__name__}.RedactingFormatter", "inner": inner, **rest}


def logging_config(
    fmt: LogFormat = "text", level: str = "info", *, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``: ``base`` (default: uvicorn's own) with every
    formatter redacting: for ``text`` its own formatters wrapped in :class:`RedactingFormatter`, for ``json``
    :class:`JsonFormatter` in their place. ragwright's loggers (the root) write through the ``default`` handler at
    ``level`` in both, so no record falls through to Python's unformatted last-resort handler. A plain dict, so
    ``serve --workers N`` hands it to every worker process."""
    if base is None:
        from uvicorn.config import LOGGING_CONFIG

        base = LOGGING_CONFIG
    config = copy.deepcopy(base)
    config["disable_existing_loggers"] = False  # dictConfig's default would silence every module logger made so far
    formatters: dict[str, Any] = config.get("formatters", {})
    if fmt == "text":
        config["formatters"] = {name: _redacting(entry) for name, entry in formatters.items()} or {
            "text": {"()": f"{__name__}.RedactingFormatter", "fmt": "%(levelname)s %(name)s: %(message)s"}
        }
    else:
        formatter = {"()": f"{__name__}.JsonFormatter"}
        config["formatters"] = {name: dict(formatter) for name in formatters} or {"json": formatter}
    name = next(iter(config["formatters"]))
    handlers = config.setdefault("handlers", {})
    handlers.setdefault("default", {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"})
    for handler in handlers.values():  # a handler without a formatter would write the record as it is
        handler.setdefault("formatter", name)
    config["root"] = {"handlers": ["default"], "level": level.upper()}
    return config
