"""`StoreExporter`: the OpenTelemetry SDK's finished spans into a :class:`~.trace_store.TraceStore`.

It runs on the batch span processor's thread, never on a request's. Message content attributes
(:data:`~ragwright.observability.semconv.CONTENT_ATTRIBUTES`) are split from the others so the store can purge them;
an exception recorded on a span becomes its ``error`` text, redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from ragwright.observability import semconv
from ragwright.observability.trace_store import SpanRecord, TraceStore
from ragwright.redact import redact

__all__ = ["StoreExporter", "to_record"]

_STATUS = {StatusCode.OK: "ok", StatusCode.ERROR: "error", StatusCode.UNSET: "unset"}


def to_record(span: ReadableSpan) -> SpanRecord:
    """The stored form of one finished SDK span."""
    ctx = span.get_span_context()
    assert ctx is not None
    attributes: dict[str, Any] = {}
    content: dict[str, str] = {}
    for key, value in (span.attributes or {}).items():
        if key in semconv.CONTENT_ATTRIBUTES:
            content[key] = str(value)
        else:
            attributes[key] = list(value) if isinstance(value, tuple) else value
    error = ""
    if span.status.status_code is StatusCode.ERROR:
        error = span.status.description or ""
        for event in span.events:
            if event.name == "exception" and event.attributes:
                error = f"{event.attributes.get('exception.type', '')}: {event.attributes.get('exception.message', '')}"
    parent = span.parent
    return SpanRecord(
        trace_id=format(ctx.trace_id, "032x"),
        span_id=format(ctx.span_id, "016x"),
        parent_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        kind=span.kind.name.lower(),
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        status=_STATUS[span.status.status_code],
        error=redact(error),
        attributes=attributes,
        content=content,
        local_root=parent is None or parent.is_remote,
    )


class StoreExporter(SpanExporter):
    """Writes each batch of finished spans to ``store`` in one transaction."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.store.write([to_record(s) for s in spans])
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.store.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
