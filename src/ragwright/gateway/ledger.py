"""The usage ledger: one record per model call, written in batches by a background thread.

Where the rows go is a :class:`LedgerTable`: a SQLite file (:class:`SQLiteLedgerTable`, ``<data_dir>/usage.sqlite``) or,
when the store is PostgreSQL, PostgreSQL's ``usage`` table (:class:`~ragwright.service.postgres_ledger.
PostgresLedgerTable`); :func:`open_usage_ledger` chooses.

The request path only appends to an in-memory buffer (:meth:`UsageLedger.record` is an ``O(1)`` append that never
blocks and never touches the database). A writer thread wakes every ``flush_ms`` milliseconds, or as soon as
``batch_size`` records are waiting, and writes them in one transaction. When the buffer is full the record is dropped
and counted (``dropped``) rather than slowing the call; when the database cannot be written the batch is counted
(``write_failures``, ``lost``) and logged, and calls go on.

Example::

    ledger = open_usage_ledger(settings)            # or UsageLedger(path) for a SQLite file
    ledger.record(UsageRecord(tenant="acme", model_requested="rag", model="openai:gpt-4o-mini", cost_usd=0.0004))
    ledger.flush()           # wait until everything recorded so far is on disk (tests, shutdown)
    ledger.close()
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ragwright.errors import StoreError
from ragwright.private_files import private_file
from ragwright.sqlite_migrations import Schema, columns, execute_script, migrate

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = [
    "LedgerStats",
    "LedgerTable",
    "SQLiteLedgerTable",
    "UsageLedger",
    "UsageRecord",
    "UsageSink",
    "UsageSinks",
    "open_usage_ledger",
]

log = logging.getLogger("ragwright.gateway.ledger")


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One call's outcome. ``model`` is the ``provider:model`` that answered (None when nothing did)."""

    ts: float = 0.0
    """UTC epoch seconds when the call finished (0 means: stamp it when recorded)."""
    tenant: str = "default"
    key_id: str | None = None
    model_requested: str = ""
    model: str | None = None
    provider: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    """Input written to the provider's prompt cache (part of ``input_tokens``, like ``cached_input_tokens``)."""
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    saved_usd: float = 0.0
    cached: bool = False
    latency_ms: float = 0.0
    status: str = "ok"
    """'ok', 'error' or 'cancelled' (the client went away mid-stream)."""
    error_type: str | None = None
    fallback: str = ""
    """The models tried before the one that answered, ' > '-joined with their error types, e.g. 'a:x(CircuitOpen)'."""
    stream: bool = False
    kb: str | None = None
    """The knowledge base an answer was drawn from (None for calls that are not answers, e.g. the proxy's)."""
    prompt_name: str | None = None
    """The versioned prompt the request was rendered from (``RequestContext.prompt``), when it came from one."""
    prompt_version: str | None = None
    request_id: str | None = None
    """The front door's request id: the calls one question made share it (`ragwright usage` counts questions by it)."""


class UsageSink(Protocol):
    """Where :class:`~ragwright.gateway.policies.ledgered.Ledgered` hands each call's record: the ledger, the
    gateway's metrics, or both (:class:`UsageSinks`). ``record`` must not block: it runs on the request path."""

    def record(self, rec: UsageRecord) -> bool: ...


class UsageSinks:
    """Several sinks as one: each record goes to every sink."""

    def __init__(self, sinks: list[UsageSink]) -> None:
        self.sinks = tuple(sinks)

    def record(self, rec: UsageRecord) -> bool:
        ok = True
        for sink in self.sinks:
            ok = sink.record(rec) and ok
        return ok


COLUMNS = tuple(f.name for f in fields(UsageRecord))
_FIELDS = attrgetter(*COLUMNS)

SCHEMA = Schema("ledger")


@SCHEMA.migration
def m001_usage(db: sqlite3.Connection) -> None:
    execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS usage (
            ts REAL NOT NULL, tenant TEXT NOT NULL, key_id TEXT, model_requested TEXT NOT NULL, model TEXT,
            provider TEXT, input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_usd REAL, saved_usd REAL NOT NULL,
            cached INTEGER NOT NULL, latency_ms REAL NOT NULL, status TEXT NOT NULL, error_type TEXT,
            fallback TEXT NOT NULL, stream INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS usage_ts ON usage(ts);
        """,
    )


@SCHEMA.migration
def m002_cache_write_tokens(db: sqlite3.Connection) -> None:
    if "cache_write_tokens" not in columns(db, "usage"):  # ledgers made before migrations may have it already
        db.execute("ALTER TABLE usage ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0")


@SCHEMA.migration
def m003_kb_prompt_request(db: sqlite3.Connection) -> None:
    """Usage by knowledge base and by prompt version (`ragwright usage --by kb|prompt`), and per question."""
    have = columns(db, "usage")
    for name in ("kb", "prompt_name", "prompt_version", "request_id"):
        if name not in have:
            db.execute(f"ALTER TABLE usage ADD COLUMN {name} TEXT")


_INSERT = f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class LedgerTable(Protocol):
    """Where the ledger's writer thread puts its batches (one implementation per backend)."""

    where: str
    """The file or server, for log lines (never a password)."""

    def write(self, rows: list[tuple[object, ...]]) -> None:
        """Write ``rows`` (values in :data:`COLUMNS` order) in one transaction; :class:`StoreError` if it failed
        (the table reconnects on the next call)."""
        ...

    def close(self) -> None: ...


class SQLiteLedgerTable:
    """Ledger rows into one SQLite file, opened on the first write (from the writer thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()  # opened later: not relative to a cwd that moved on
        self.where = str(self.path)
        self._conn: sqlite3.Connection | None = None

    def write(self, rows: list[tuple[object, ...]]) -> None:
        try:
            if self._conn is None:
                self._conn = _connect(self.path)
            with self._conn:
                self._conn.executemany(_INSERT, rows)
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(f"cannot write usage ledger {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True, slots=True)
class LedgerStats:
    """What the ledger did since it started: records accepted, written, dropped and lost."""

    recorded: int
    """Records accepted into the buffer."""
    written: int
    dropped: int
    """Refused because the buffer was full."""
    lost: int
    """Accepted but not written because the database failed."""
    write_failures: int
    pending: int


class _Marker:
    """Put in the buffer by ``flush``/``close``: the writer sets ``done`` once everything before it is written."""

    __slots__ = ("done", "stop")

    def __init__(self, stop: bool = False) -> None:
        self.done = threading.Event()
        self.stop = stop


class UsageLedger:
    """Asynchronous, batched usage ledger over a :class:`LedgerTable` (a path means a SQLite file). Thread-safe;
    ``record`` may be called from any thread or loop.

    ``batch_size`` records or ``flush_ms`` milliseconds, whichever comes first, trigger a write; at most
    ``max_pending`` records wait in memory.
    """

    def __init__(
        self,
        table: Path | LedgerTable,
        *,
        batch_size: int = 512,
        flush_ms: float = 250.0,
        max_pending: int = 100_000,
    ) -> None:
        self.table: LedgerTable = SQLiteLedgerTable(table) if isinstance(table, Path | str) else table
        self.batch_size = batch_size
        self.flush_s = flush_ms / 1000.0
        self.max_pending = max_pending
        self._buf: deque[UsageRecord | _Marker] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._recorded = 0
        self._dropped = 0
        self._written = 0
        self._lost = 0
        self._failures = 0

    # --- request path -------------------------------------------------------------------------------------------

    def record(self, rec: UsageRecord) -> bool:
        """Queue one record; returns False (and counts a drop) if the buffer is full or the ledger is closed."""
        buf = self._buf
        if self._closed or len(buf) >= self.max_pending:
            self._dropped += 1
            return False
        if self._thread is None:
            self._start()
        buf.append(rec)
        self._recorded += 1
        if len(buf) == self.batch_size:
            self._wake.set()
        return True

    # --- draining -----------------------------------------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until every record queued before this call is written (or failed). True if it finished in time."""
        if self._thread is None:
            return True
        marker = _Marker()
        self._buf.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is pending and stop the writer; later records are dropped (and counted)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            return
        marker = _Marker(stop=True)
        self._buf.append(marker)
        self._wake.set()
        marker.done.wait(timeout)
        self._thread.join(timeout)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    @property
    def stats(self) -> LedgerStats:
        pending = sum(1 for r in list(self._buf) if isinstance(r, UsageRecord))
        return LedgerStats(self._recorded, self._written, self._dropped, self._lost, self._failures, pending)

    # --- writer thread ------------------------------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="ragwright-usage-ledger", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        batch: list[tuple[object, ...]] = []
        try:
            while True:
                self._wake.wait(self.flush_s)
                self._wake.clear()
                markers: list[_Marker] = []
                buf = self._buf
                while buf:
                    item = buf.popleft()
                    if isinstance(item, _Marker):
                        markers.append(item)
                        continue
                    batch.append(_row(item))
                    if len(batch) >= 10 * self.batch_size:
                        self._write(batch)
                        batch = []
                if batch:
                    self._write(batch)
                    batch = []
                for m in markers:
                    m.done.set()
                if any(m.stop for m in markers):
                    return
        finally:
            self.table.close()

    def _write(self, rows: list[tuple[object, ...]]) -> None:
        try:
            self.table.write(rows)
            self._written += len(rows)
        except StoreError as exc:
            self._failures += 1
            self._lost += len(rows)
            if self._failures == 1 or self._failures % 100 == 0:
                log.warning(
                    "usage ledger %s: %d records not written (%s); %d write failures so far",
                    self.table.where,
                    len(rows),
                    exc,
                    self._failures,
                )


def _row(rec: UsageRecord) -> tuple[object, ...]:
    row: tuple[object, ...] = _FIELDS(rec)
    return row if rec.ts else (time.time(), *row[1:])


def _connect(path: Path) -> sqlite3.Connection:
    private_file(path)  # spend per tenant and key: 0600 in a 0700 directory when ragwright creates them
    conn = sqlite3.connect(path, check_same_thread=False, timeout=5.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn, SCHEMA, where=path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_readonly(path: Path) -> sqlite3.Connection:
    """A connection for reports; creates nothing."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def open_usage_ledger(settings: Settings, **options: float) -> UsageLedger:
    """The ledger ``settings`` name: PostgreSQL's ``usage`` table when the store is PostgreSQL (opened on the first
    write, from the writer thread), else ``<data_dir>/usage.sqlite``."""
    if settings.uses_postgres:
        from ragwright.service.postgres_ledger import PostgresLedgerTable

        return UsageLedger(PostgresLedgerTable(settings.store_dsn()), **options)  # type: ignore[arg-type]
    return UsageLedger(settings.ledger_path, **options)  # type: ignore[arg-type]
