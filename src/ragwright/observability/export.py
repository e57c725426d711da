"""Export accounting: every exporter is wrapped so a failed export is counted and logged, never silent.

:func:`export_stats` is what ``/metrics`` reads (``ragwright_trace_export_failures_total{exporter}`` and friends): a
snapshot per exporter name (``local``: the SQLite trace store, ``otlp``: the collector), summed over every provider
this process installed.

Example::

    exporter = CountingExporter("otlp", OTLPSpanExporter(endpoint=...))
    ...
    export_stats()["otlp"].failed_spans      # spans lost because the collector refused or could not be reached
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ragwright.redact import redact

__all__ = ["CountingExporter", "ExportStats", "export_stats"]

log = logging.getLogger("ragwright.observability.export")


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What one exporter did since the process started: batches and spans exported, failed exports and their spans."""

    exported_batches: int = 0
    exported_spans: int = 0
    failures: int = 0
    failed_spans: int = 0
    last_error: str = ""


_stats: dict[str, ExportStats] = {}
_lock = threading.Lock()


def export_stats() -> dict[str, ExportStats]:
    """A snapshot of every exporter's counters, by exporter name (empty when nothing was exported)."""
    with _lock:
        return dict(_stats)


def _count(name: str, spans: int, error: str | None) -> None:
    with _lock:
        s = _stats.get(name, ExportStats())
        if error is None:
            _stats[name] = replace(s, exported_batches=s.exported_batches + 1, exported_spans=s.exported_spans + spans)
        else:
            _stats[name] = replace(s, failures=s.failures + 1, failed_spans=s.failed_spans + spans, last_error=error)


class CountingExporter(SpanExporter):
    """Wraps an exporter: a FAILURE result or an exception is counted under ``name`` and logged as a warning."""

    def __init__(self, name: str, inner: SpanExporter) -> None:
        self.name = name
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        error: str | None
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # noqa: BLE001 - an exporter bug must cost spans, never the process
            error = redact(f"{type(exc).__name__}: {exc}")
            result = SpanExportResult.FAILURE
        else:
            error = None if result is SpanExportResult.SUCCESS else "the exporter reported a failure"
        _count(self.name, len(spans), error)
        if error is not None:
            log.warning("trace export to %s failed, %d spans lost: %s", self.name, len(spans), error)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        flushed: Any = self.inner.force_flush(timeout_millis)
        return bool(flushed)
