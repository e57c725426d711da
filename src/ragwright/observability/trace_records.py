"""What the trace store keeps and the seam it is read through: span, summary, detail and filter records, and the
:class:`TraceStore` protocol (:mod:`ragwright.observability.trace_store` has the SQLite store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ragwright.observability import semconv

__all__ = ["SpanRecord", "TraceDetail", "TraceFilter", "TraceStore", "TraceSummary"]


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span as stored: ids, name, kind, times (epoch ns), status, attributes, content (opt-in)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str = "unset"
    """'ok', 'error' or 'unset'."""
    error: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    content: dict[str, str] = field(default_factory=dict)
    local_root: bool = False
    """No parent, or a parent in another process (a client's traceparent): the root of what this process saw."""

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def docs(self) -> list[tuple[str, str]]:
        """(store tenant, document id) of every hit a retrieval span returned."""
        tenant = self.attributes.get(semconv.STORE_TENANT)
        ids = self.attributes.get(semconv.HIT_DOCS) or ()
        return [(str(tenant), str(d)) for d in ids] if tenant is not None else []


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace as listed."""

    trace_id: str
    tenant: str | None
    key_id: str | None
    root: str
    started_ns: int
    duration_ms: float
    spans: int
    errors: int
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class TraceDetail:
    """One trace: its summary, its spans in start order, the documents its retrievals returned."""

    summary: TraceSummary
    spans: list[SpanRecord]
    docs: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Which traces a list keeps: by root span name, key, errors, and a least duration (all optional, all must hold).

    Example::

        store.list(tenant="acme", where=TraceFilter(root="POST /v1/answer", errors_only=True, min_ms=500))
    """

    root: str | None = None
    key_id: str | None = None
    errors_only: bool = False
    min_ms: float | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The clause (starting with `` AND``, or empty) and its arguments, over the ``traces`` table."""
        clause, args = "", list[Any]()
        if self.root:
            clause += " AND root = ?"
            args.append(self.root)
        if self.key_id:
            clause += " AND key_id = ?"
            args.append(self.key_id)
        if self.errors_only:
            clause += " AND errors > 0"
        if self.min_ms is not None:
            clause += " AND ended_ns - started_ns >= ?"
            args.append(int(self.min_ms * 1e6))
        return clause, args


class TraceStore(Protocol):
    """Where finished spans are kept and read back, tenant-scoped (``tenant=None``: every tenant, the local CLI)."""

    def write(self, spans: Sequence[SpanRecord]) -> None: ...

    def list(
        self,
        *,
        tenant: str | None,
        limit: int = 50,
        before_ns: int | None = None,
        where: TraceFilter | None = None,
    ) -> list[TraceSummary]: ...

    def roots(self, *, tenant: str | None) -> tuple[str, ...]: ...

    def get(self, trace_id: str, *, tenant: str | None) -> TraceDetail | None: ...

    def purge_document(self, store_tenant: str, doc_id: str) -> int: ...

    def enforce_retention(self, now_ns: int | None = None) -> int: ...

    def close(self) -> None: ...
