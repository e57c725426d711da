"""The local trace store: finished spans in one SQLite file, so a single machine needs no collector.

Spans arrive from the tracer's batch processor (a background thread: never the request path) through
:class:`~ragwright.observability.store_exporter.StoreExporter`. Per trace the store keeps a summary row (tenant, key,
root span, start, duration, span and error counts, model cost), its spans, and which documents its retrievals
returned. **No document text is stored**: a trace keeps chunk ids and scores, and ``ragwright traces show`` / ``GET
/v1/traces/{id}`` read the text from the index when the viewer may read the document, so deleting a document takes
its text out of every trace. Message content (only with ``observability.capture_content``) is kept apart from the
other attributes, and :meth:`SQLiteTraceStore.purge_document` erases it from every trace that retrieved the document
(also for spans still in flight when the document was deleted).

Retention (:meth:`SQLiteTraceStore.enforce_retention`, run by the writer at most once a minute): traces older than
``retention_days`` go, then the oldest until the file's used pages fit ``retention_mb``; the file is vacuumed when a
quarter or more of it is free pages.

:class:`~ragwright.observability.trace_records.TraceStore` is the seam and its records live beside it (a PostgreSQL
store can follow); :class:`SQLiteTraceStore` is the one there is.

Example::

    store = SQLiteTraceStore(settings.trace_store_path)
    for t in store.list(tenant="acme", limit=20):
        print(t.trace_id, t.root, t.duration_ms)
    detail = store.get(trace_id, tenant="acme")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragwright.observability import semconv
from ragwright.observability.trace_records import SpanRecord, TraceDetail, TraceFilter, TraceStore, TraceSummary
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema, execute_script

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = [
    "SQLiteTraceStore",
    "SpanRecord",
    "TraceDetail",
    "TraceFilter",
    "TraceStore",
    "TraceSummary",
    "purge_document",
]

SCHEMA = Schema("traces")
RETENTION_EVERY_S = 60.0
VACUUM_FREE_SHARE = 0.25


@SCHEMA.migration
def m001_traces(db: Any) -> None:
    execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS traces (
            trace_id TEXT PRIMARY KEY, tenant TEXT, key_id TEXT, root TEXT NOT NULL DEFAULT '',
            started_ns INTEGER NOT NULL, ended_ns INTEGER NOT NULL, spans INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0, cost_usd REAL);
        CREATE INDEX IF NOT EXISTS traces_tenant_started ON traces (tenant, started_ns);
        CREATE INDEX IF NOT EXISTS traces_started ON traces (started_ns);
        CREATE TABLE IF NOT EXISTS trace_spans (
            trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
            start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',
            attributes TEXT NOT NULL, content TEXT, PRIMARY KEY (trace_id, span_id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS trace_docs (
            trace_id TEXT NOT NULL, store_tenant TEXT NOT NULL, doc_id TEXT NOT NULL,
            PRIMARY KEY (trace_id, store_tenant, doc_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS trace_docs_doc ON trace_docs (store_tenant, doc_id);
        CREATE TABLE IF NOT EXISTS trace_purged_docs (
            store_tenant TEXT NOT NULL, doc_id TEXT NOT NULL, purged_ns INTEGER NOT NULL,
            PRIMARY KEY (store_tenant, doc_id)) WITHOUT ROWID
        """,
    )


class SQLiteTraceStore:
    """The :class:`TraceStore` in ``traces.sqlite`` (see the module). Safe to share between threads."""

    def __init__(self, path: Path, *, retention_days: float = 7.0, retention_mb: float = 256.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_days = retention_days
        self.retention_mb = retention_mb
        self._db = open_service_db(path, SCHEMA)
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last traces, never corrupt
        self._lock = threading.Lock()
        self._next_retention = 0.0

    # -- writing ---------------------------------------------------------------------------------------------------

    def write(self, spans: Sequence[SpanRecord]) -> None:
        """Store ``spans`` (one transaction); message content of traces that retrieved a purged document is dropped."""
        if not spans:
            return
        by_trace: dict[str, list[SpanRecord]] = {}
        for s in spans:
            by_trace.setdefault(s.trace_id, []).append(s)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                any_purged = db.execute("SELECT 1 FROM trace_purged_docs LIMIT 1").fetchone() is not None
                rows: list[tuple[Any, ...]] = []
                for trace_id, group in by_trace.items():
                    docs = {d for s in group for d in s.docs()}
                    if docs:
                        db.executemany(
                            "INSERT OR IGNORE INTO trace_docs VALUES (?, ?, ?)", [(trace_id, *d) for d in docs]
                        )
                    content = any(s.content for s in group)
                    purged_since = self._purged_since(trace_id) if content and any_purged else None
                    rows.extend(_span_row(s, purged_since) for s in group)
                    self._summarise(trace_id, group)
                db.executemany("INSERT OR REPLACE INTO trace_spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if time.monotonic() >= self._next_retention:
            self._next_retention = time.monotonic() + RETENTION_EVERY_S
            self.enforce_retention()

    def _purged_since(self, trace_id: str) -> int | None:
        row = self._db.execute(
            "SELECT min(p.purged_ns) FROM trace_docs d JOIN trace_purged_docs p"
            " ON p.store_tenant = d.store_tenant AND p.doc_id = d.doc_id WHERE d.trace_id = ?",
            (trace_id,),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _summarise(self, trace_id: str, group: list[SpanRecord]) -> None:
        root = next((s for s in group if s.local_root), None)
        tenant = next((s.attributes[semconv.TENANT] for s in group if semconv.TENANT in s.attributes), None)
        if root is not None and semconv.TENANT in root.attributes:
            tenant = root.attributes[semconv.TENANT]
        key_id = next((s.attributes[semconv.KEY_ID] for s in group if semconv.KEY_ID in s.attributes), None)
        costs = [s.attributes.get(semconv.COST_USD) for s in group if semconv.ATTEMPTS in s.attributes]
        known = [float(c) for c in costs if c is not None]
        cost = sum(known) if known else None
        self._db.execute(
            """INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (trace_id) DO UPDATE SET
                tenant = CASE WHEN ? THEN coalesce(excluded.tenant, traces.tenant)
                              ELSE coalesce(traces.tenant, excluded.tenant) END,
                key_id = coalesce(traces.key_id, excluded.key_id),
                root = CASE WHEN excluded.root != '' THEN excluded.root ELSE traces.root END,
                started_ns = min(traces.started_ns, excluded.started_ns),
                ended_ns = max(traces.ended_ns, excluded.ended_ns),
                spans = traces.spans + excluded.spans, errors = traces.errors + excluded.errors,
                cost_usd = CASE WHEN excluded.cost_usd IS NULL THEN traces.cost_usd
                                ELSE coalesce(traces.cost_usd, 0) + excluded.cost_usd END""",
            (
                trace_id,
                tenant,
                key_id,
                root.name if root is not None else "",
                min(s.start_ns for s in group),
                max(s.end_ns for s in group),
                len(group),
                sum(s.status == "error" for s in group),
                cost,
                root is not None,
            ),
        )

    def purge_document(self, store_tenant: str, doc_id: str) -> int:
        """Erase message content from every trace that retrieved ``doc_id`` (and from spans of such traces that
        arrive later); returns the traces touched."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO trace_purged_docs VALUES (?, ?, ?)", (store_tenant, doc_id, time.time_ns())
            )
            cur = self._db.execute(
                "UPDATE trace_spans SET content = NULL WHERE content IS NOT NULL AND trace_id IN"
                " (SELECT trace_id FROM trace_docs WHERE store_tenant = ? AND doc_id = ?)",
                (store_tenant, doc_id),
            )
            return int(cur.rowcount)

    # -- retention -------------------------------------------------------------------------------------------------

    def enforce_retention(self, now_ns: int | None = None) -> int:
        """Delete traces past ``retention_days``, then the oldest until the used pages fit ``retention_mb``; vacuum
        when a quarter of the file is free. Returns the traces deleted."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        cutoff = now_ns - int(self.retention_days * 86400 * 1e9)
        with self._lock:
            deleted = self._delete("SELECT trace_id FROM traces WHERE started_ns < ?", (cutoff,))
            limit = self.retention_mb * 1024 * 1024
            while self._used_bytes() > limit:
                n = self._db.execute("SELECT count(*) FROM traces").fetchone()[0]
                if n == 0:
                    break
                batch = max(1, n // 10)
                deleted += self._delete("SELECT trace_id FROM traces ORDER BY started_ns LIMIT ?", (batch,))
            self._db.execute("DELETE FROM trace_purged_docs WHERE purged_ns < ?", (cutoff,))
            pages, free = (self._pragma("page_count"), self._pragma("freelist_count"))
            if pages and free / pages >= VACUUM_FREE_SHARE:
                self._db.execute("VACUUM")
        return deleted

    def _delete(self, select: str, args: tuple[Any, ...]) -> int:
        ids = [r[0] for r in self._db.execute(select, args)]
        if not ids:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("trace_spans", "trace_docs", "traces"):
                self._db.executemany(f"DELETE FROM {table} WHERE trace_id = ?", [(i,) for i in ids])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return len(ids)

    def _pragma(self, name: str) -> int:
        return int(self._db.execute(f"PRAGMA {name}").fetchone()[0])

    def _used_bytes(self) -> int:
        return (self._pragma("page_count") - self._pragma("freelist_count")) * self._pragma("page_size")

    # -- reading ---------------------------------------------------------------------------------------------------

    def list(
        self,
        *,
        tenant: str | None,
        limit: int = 50,
        before_ns: int | None = None,
        where: TraceFilter | None = None,
    ) -> list[TraceSummary]:
        """The newest traces (of ``tenant``; None: all) that ``where`` keeps, started before ``before_ns`` when given
        (paging)."""
        clause, args = _tenant_clause(tenant)
        if before_ns is not None:
            clause += " AND started_ns < ?"
            args.append(before_ns)
        if where is not None:
            more, more_args = where.sql()
            clause += more
            args.extend(more_args)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM traces WHERE {clause} ORDER BY started_ns DESC LIMIT ?", [*args, limit]
            ).fetchall()
        return [_summary(r) for r in rows]

    def roots(self, *, tenant: str | None) -> tuple[str, ...]:
        """The distinct root span names of ``tenant``'s traces (what :attr:`TraceFilter.root` can name), sorted."""
        clause, args = _tenant_clause(tenant)
        with self._lock:
            rows = self._db.execute(
                f"SELECT DISTINCT root FROM traces WHERE {clause} AND root != '' ORDER BY root LIMIT 200", args
            ).fetchall()
        return tuple(str(r[0]) for r in rows)

    def get(self, trace_id: str, *, tenant: str | None) -> TraceDetail | None:
        """One trace (None when it does not exist, or belongs to another tenant than ``tenant``)."""
        where, args = _tenant_clause(tenant)
        with self._lock:
            row = self._db.execute(f"SELECT * FROM traces WHERE trace_id = ? AND {where}", [trace_id, *args]).fetchone()
            if row is None:
                return None
            spans = self._db.execute(
                "SELECT * FROM trace_spans WHERE trace_id = ? ORDER BY start_ns, span_id", (trace_id,)
            ).fetchall()
            docs = self._db.execute(
                "SELECT store_tenant, doc_id FROM trace_docs WHERE trace_id = ? ORDER BY 1, 2", (trace_id,)
            ).fetchall()
        return TraceDetail(_summary(row), [_span(r) for r in spans], [(t, d) for t, d in docs])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _tenant_clause(tenant: str | None) -> tuple[str, list[Any]]:
    return ("1 = 1", []) if tenant is None else ("tenant = ?", [tenant])


def _span_row(s: SpanRecord, purged_since: int | None) -> tuple[Any, ...]:
    keep = s.content and (purged_since is None or s.start_ns > purged_since)
    return (
        s.trace_id,
        s.span_id,
        s.parent_id,
        s.name,
        s.kind,
        s.start_ns,
        s.end_ns,
        s.status,
        s.error,
        json.dumps(s.attributes, default=str),
        json.dumps(s.content) if keep else None,
    )


def _summary(r: Sequence[Any]) -> TraceSummary:
    return TraceSummary(r[0], r[1], r[2], r[3], int(r[4]), (int(r[5]) - int(r[4])) / 1e6, r[6], r[7], r[8])


def _span(r: Sequence[Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=r[0],
        span_id=r[1],
        parent_id=r[2],
        name=r[3],
        kind=r[4],
        start_ns=int(r[5]),
        end_ns=int(r[6]),
        status=r[7],
        error=r[8],
        attributes=json.loads(r[9]),
        content=json.loads(r[10]) if r[10] else {},
    )


def open_trace_store(settings: Settings) -> SQLiteTraceStore:
    """The local trace store ``settings`` name, with their retention."""
    obs = settings.observability
    return SQLiteTraceStore(settings.trace_store_path, retention_days=obs.retention_days, retention_mb=obs.retention_mb)


def purge_document(settings: Settings, store_tenant: str, doc_id: str) -> int:
    """After deleting a document: take its text out of the local trace store, if there is one (tracing may be off
    now and have been on before). Returns the traces touched."""
    if not settings.trace_store_path.exists():
        return 0
    store = open_trace_store(settings)
    try:
        return store.purge_document(store_tenant, doc_id)
    finally:
        store.close()
