"""``ragwright migrate``: copy everything a data directory holds into PostgreSQL, resumably, then prove it.

:func:`migrate` copies every entry of the registry (:data:`~ragwright.store.migrate_tables.REGISTRY`: the index with
its vectors, API keys, knowledge bases, jobs, the usage ledger, and whatever other components register) and ends with
:func:`verify`, rows and checksums per table on both sides. The target must be empty, or hold an earlier, interrupted
run of the same migration (recorded in ``ragwright_migrate_source``): then the copy goes on where it stopped.

Example::

    report = migrate(Path(".ragwright"), "postgresql://rag@db/ragwright")
    assert report.ok, [c.table for c in report.checks if not c.ok]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragwright.config import PostgresSettings
from ragwright.errors import ConfigError, TargetNotEmpty, UserError
from ragwright.service.postgres_db import connect_error, server_label
from ragwright.store.migrate_index import IndexTables
from ragwright.store.migrate_tables import (
    PROGRESS_TABLE,
    REGISTRY,
    MigrationContext,
    MigrationTable,
    RowTable,
    TableCheck,
    register,
)

__all__ = ["MigrationReport", "migrate", "verify"]

SOURCE_TABLE = "ragwright_migrate_source"
"""Which data directory this database is being (or was) migrated from."""

# -- the registry: one line per table (a component's PostgreSQL schema as "module:attribute") ------------------------
register(IndexTables())
register(RowTable("api_keys", "keys.sqlite", schema="ragwright.service.postgres_keys:PG_KEYS"))
register(RowTable("knowledge_bases", "service.sqlite", schema="ragwright.service.postgres_kbs:PG_KBS"))
register(RowTable("jobs", "service.sqlite", schema="ragwright.service.postgres_jobs:PG_JOBS"))
register(RowTable("feedback", "service.sqlite", schema="ragwright.service.postgres_feedback:PG_FEEDBACK"))
# UI sessions ended by a logout: the session cookies are signed by a secret the move keeps (ui-session.secret or
# [ui] session_secret), so a copy of a logged-out cookie would be valid again for the rest of its life (hours) if the
# list stayed behind. With a [redis] url after the move, the list lives in Redis instead and this copy goes unused.
register(RowTable("ui_ended_sessions", "service.sqlite", schema="ragwright.service.ended_sessions:PG_ENDED_SESSIONS"))
register(RowTable("usage", "usage.sqlite", schema="ragwright.service.postgres_ledger:PG_LEDGER"))
register(RowTable("agent_runs", "agents.sqlite"))  # no PostgreSQL backend yet: mirrored, so nothing is left behind
register(RowTable("agent_calls", "agents.sqlite"))
# The prompt registry (its tables sit in the index file; PostgreSQL schema from ragwright.prompts.schema) and the local
# trace store (traces.sqlite, mirrored) as their branches define them; a table that is absent is reported as such.
_PG_PROMPTS = "ragwright.prompts.schema:PG_PROMPTS"
for _table in ("prompt_versions", "prompt_labels", "prompt_splits", "prompt_label_moves"):  # versions first: FKs
    register(RowTable(_table, "index.sqlite", schema=_PG_PROMPTS))
for _table in ("traces", "trace_spans", "trace_docs", "trace_purged_docs"):
    register(RowTable(_table, "traces.sqlite"))
# Left behind on purpose: rate_hits / rate_counts (ratelimit.sqlite: one-minute windows, empty again a minute after the
# move) and judge_cache (an eval judge's cache: refilled by the next run that needs it).


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What a migration did: the target (without password), whether it resumed, and the per-table comparison."""

    target: str
    resumed: bool
    checks: list[TableCheck]
    seconds: float
    rows_copied: int = 0
    """Rows (documents, for the index) this run copied; 0 when an earlier run had copied everything."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "resumed": self.resumed,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "rows_copied": self.rows_copied,
            "tables": [c.to_dict() for c in self.checks],
        }


def _check_dsn(dsn: str) -> str:
    if not dsn.startswith(("postgresql://", "postgres://")):
        raise ConfigError("--to must be a postgresql:// URL (or an env:VAR / file:PATH reference to one)")
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - psycopg's message may quote the URL, password included
        raise ConfigError("--to is not a valid postgresql:// URL") from None
    return server_label(dsn)


def _connect(dsn: str, where: str, timeout_s: float) -> Any:
    import psycopg

    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(timeout_s)))
    except psycopg.Error as exc:
        raise connect_error(exc, where) from None


def _claim_target(conn: Any, source: Path, tables: list[MigrationTable]) -> bool:
    """Record that this database receives ``source``; True if an earlier run of the same migration is resumed.
    A database holding other data is refused (:class:`TargetNotEmpty`)."""
    with conn.transaction():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SOURCE_TABLE} (source TEXT NOT NULL, started_at DOUBLE PRECISION)")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (item TEXT PRIMARY KEY, position TEXT, done INTEGER NOT NULL)"
        )
        conn.execute(f"LOCK TABLE {SOURCE_TABLE}")  # two migrations into one database: one waits, then resumes
        recorded = [r[0] for r in conn.execute(f"SELECT source FROM {SOURCE_TABLE}")]
        if recorded and recorded != [str(source)]:
            raise TargetNotEmpty(
                f"the target is being migrated from {recorded[0]}, not {source}: use an empty database or schema"
            )
        if not recorded:
            busy = [(t, n) for t in _targets(tables) if (n := _rows(conn, t))]
            if busy:
                listed = ", ".join(f"{t} ({n} rows)" for t, n in busy[:5])
                raise TargetNotEmpty(
                    f"the target already holds data ({listed}): migrate into an empty database or schema"
                )
            conn.execute(f"INSERT INTO {SOURCE_TABLE} VALUES (%s, %s)", (str(source), time.time()))
    return bool(recorded)


def _targets(tables: list[MigrationTable]) -> list[str]:
    return list(dict.fromkeys(t for entry in tables for t in entry.target_tables()))


def _rows(conn: Any, table: str) -> int:
    if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
        return 0
    row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
    return 1 if row[0] else 0


def migrate(
    source: Path,
    dsn: str,
    *,
    batch_size: int = 500,
    tables: list[MigrationTable] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
    timeout_s: float = 10.0,
    postgres: PostgresSettings | None = None,
) -> MigrationReport:
    """Copy the data directory ``source`` into the PostgreSQL database ``dsn`` and compare every table.

    ``on_batch(item, rows_so_far)`` runs after each committed batch (an exception there stops the copy where a
    rerun resumes). Raises :class:`ConfigError` for a bad URL, :class:`~ragwright.errors.StoreUnavailable` when
    the server cannot be reached, :class:`TargetNotEmpty` for a database holding other data."""
    started = time.monotonic()
    where = _check_dsn(dsn)
    source = source.resolve()
    if not source.is_dir():
        raise UserError(f"--from {source} is not a directory (the data_dir to migrate, e.g. .ragwright)")
    entries = REGISTRY if tables is None else tables
    conn = _connect(dsn, where, timeout_s)
    try:
        import psycopg

        try:
            resumed = _claim_target(conn, source, entries)
            ctx = MigrationContext(
                source, conn, batch_size=batch_size, on_batch=on_batch, postgres=postgres or PostgresSettings()
            )
            for entry in entries:
                entry.copy(ctx)
            checks = verify(ctx, entries)
        except psycopg.Error as exc:
            raise connect_error(exc, where) from None
    finally:
        conn.close()
    return MigrationReport(where, resumed, checks, time.monotonic() - started, sum(ctx.copied.values()))


def verify(ctx: MigrationContext, tables: list[MigrationTable] | None = None) -> list[TableCheck]:
    """Rows and checksums of every registered table in the source and in the target."""
    checks: list[TableCheck] = []
    for entry in REGISTRY if tables is None else tables:
        checks += entry.checks(ctx)
    return checks
