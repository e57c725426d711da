"""What ``ragwright migrate`` copies, table by table: the registry, the generic row copier and the checksums.

Every entry of :data:`REGISTRY` is a :class:`MigrationTable`: it makes its target tables, copies its rows in batches
(each batch in one PostgreSQL transaction together with the position it reached, so a rerun after an interrupt goes on
from there) and reports a :class:`TableCheck` per table: rows and an order-independent checksum of the rows' canonical
form on both sides (:class:`Tally`), so the comparison says whether the copy is exact, not only complete.

A service table whose PostgreSQL twin has the same columns (keys, knowledge bases, jobs, the usage ledger, and any
table another component adds) is one line::

    register(RowTable("prompt_versions", "prompts.sqlite", schema="ragwright.prompts.postgres:PG_PROMPTS"))

``schema`` names the component's PostgreSQL :class:`~ragwright.sqlite_migrations.Schema` (``module:attribute``,
imported when the migration runs), applied through the one migration mechanism. Without it, the target is a mirror of
the SQLite table (same columns, PostgreSQL types), for a component whose tables have no PostgreSQL backend yet.
A source file or table that does not exist is skipped (shown as absent in the report).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ragwright.config import PostgresSettings
from ragwright.errors import StoreError
from ragwright.sqlite_migrations import Schema
from ragwright.store.postgres_schema import migrate_postgres

__all__ = [
    "REGISTRY",
    "MigrationContext",
    "MigrationTable",
    "RowTable",
    "TableCheck",
    "Tally",
    "register",
]

PROGRESS_TABLE = "ragwright_migrate_progress"
"""Per copied item, the position reached and whether it is done (written in the same transaction as the rows)."""


def canonical(value: object) -> object:
    """One form for a value read from either database: integral numbers as ints (SQLite's REAL affinity and
    PostgreSQL's ``double precision`` may hand back 5.0 for 5), other floats by ``repr``, bytes as hex."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


class Tally:
    """Row count and an order-independent checksum (sum of per-row SHA-256 prefixes mod 2^128) of canonical rows."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, row: Iterable[object]) -> None:
        text = json.dumps([canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")) % 2**128
        self.rows += 1

    @property
    def checksum(self) -> str:
        return f"{self._sum:032x}"


@dataclass(frozen=True, slots=True)
class TableCheck:
    """One line of the final comparison: a table's rows and checksum in the source and in the target."""

    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str
    absent: bool = False
    """The source has no such table (nothing to copy)."""

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum

    def to_dict(self) -> dict[str, object]:
        return {
            "table": self.table,
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "source_checksum": self.source_checksum,
            "target_checksum": self.target_checksum,
            "absent": self.absent,
            "ok": self.ok,
        }


@dataclass
class MigrationContext:
    """What a table's copy needs: the source directory, the target connection (autocommit), the batch size, and a
    callback after every committed batch (``item``, rows copied so far), which is where an interrupt lands."""

    source: Path
    conn: Any
    batch_size: int = 500
    on_batch: Callable[[str, int], None] | None = None
    copied: dict[str, int] = field(default_factory=dict)
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    """The target store's settings (when a copied tenant is big enough for an HNSW index, and its parameters)."""

    def position(self, item: str) -> tuple[str | None, bool]:
        """Where the copy of ``item`` stopped (None: not started) and whether it finished."""
        row = self.conn.execute(f"SELECT position, done FROM {PROGRESS_TABLE} WHERE item = %s", (item,)).fetchone()
        return (None, False) if row is None else (row[0], bool(row[1]))

    def save(self, conn: Any, item: str, position: str | None, *, done: bool = False) -> None:
        """Record the position of ``item`` inside the caller's transaction (with the rows it covers)."""
        conn.execute(
            f"INSERT INTO {PROGRESS_TABLE} (item, position, done) VALUES (%s, %s, %s)"
            " ON CONFLICT (item) DO UPDATE SET position = excluded.position, done = excluded.done",
            (item, position, int(done)),
        )

    def batch_done(self, item: str, rows: int) -> None:
        self.copied[item] = self.copied.get(item, 0) + rows
        if self.on_batch is not None:
            self.on_batch(item, self.copied[item])


class MigrationTable(Protocol):
    """One registry entry: tables copied from a SQLite file under the data directory into PostgreSQL."""

    @property
    def name(self) -> str: ...

    def copy(self, ctx: MigrationContext) -> None:
        """Create the target tables if needed and copy what is not copied yet (resumable)."""
        ...

    def checks(self, ctx: MigrationContext) -> list[TableCheck]:
        """Rows and checksums of every table this entry copies, on both sides."""
        ...

    def target_tables(self) -> list[str]:
        """The PostgreSQL tables this entry writes (to tell whether a target already holds data)."""
        ...


def open_source(path: Path) -> sqlite3.Connection:
    """A read-only connection to a SQLite file of the source (never creates or changes it)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)


def load_schema(ref: str) -> Schema:
    """The :class:`Schema` named ``module:attribute``."""
    module, _, attr = ref.partition(":")
    schema = getattr(importlib.import_module(module), attr)
    if not isinstance(schema, Schema):
        raise TypeError(f"{ref} is not a Schema")
    return schema


_PG_TYPES = {"INTEGER": "BIGINT", "INT": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": "TEXT"}


def _mirror_type(declared: str) -> str:
    return _PG_TYPES.get(declared.strip().upper().split("(")[0], "TEXT")


@dataclass
class RowTable:
    """A SQLite table copied row for row into a PostgreSQL table with the same columns, in ``rowid`` order."""

    table: str
    file: str
    """The SQLite file under the data directory."""
    schema: str | None = None
    """``module:attribute`` of the PostgreSQL Schema that makes the target table; None: mirror the SQLite table."""

    @property
    def name(self) -> str:
        return self.table

    def target_tables(self) -> list[str]:
        return [self.table]

    def _columns(self, src: sqlite3.Connection) -> list[str]:
        return [str(r[1]) for r in src.execute(f"PRAGMA table_info({self.table})")]

    def _source(self, ctx: MigrationContext) -> sqlite3.Connection | None:
        path = ctx.source / self.file
        if not path.exists():
            return None
        src = open_source(path)
        if not self._columns(src):
            src.close()
            return None
        return src

    def _prepare(self, ctx: MigrationContext, src: sqlite3.Connection) -> list[str]:
        if self.schema is not None:
            migrate_postgres(ctx.conn, load_schema(self.schema), where="the target")
        else:
            cols = ", ".join(
                f'"{r[1]}" {_mirror_type(str(r[2]))}' for r in src.execute(f"PRAGMA table_info({self.table})")
            )
            ctx.conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({cols})")
        columns = self._columns(src)
        have = {
            r[0]
            for r in ctx.conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                " AND table_schema = current_schema()",
                (self.table,),
            )
        }
        missing = [c for c in columns if c not in have]
        if missing:
            raise StoreError(
                f"target table {self.table} has no column(s) {', '.join(missing)}: no PostgreSQL migration"
            )
        return columns

    def copy(self, ctx: MigrationContext) -> None:
        src = self._source(ctx)
        if src is None:
            return
        try:
            columns = self._prepare(ctx, src)
            position, done = ctx.position(self.table)
            last = int(position) if position is not None else 0
            quoted = ", ".join(f'"{c}"' for c in columns)
            insert = f"INSERT INTO {self.table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"
            while not done:
                rows = src.execute(
                    f"SELECT rowid, {quoted} FROM {self.table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (last, ctx.batch_size),
                ).fetchall()
                with ctx.conn.transaction(), ctx.conn.cursor() as cur:
                    if rows:
                        cur.executemany(insert, [r[1:] for r in rows])
                        last = int(rows[-1][0])
                    done = len(rows) < ctx.batch_size
                    ctx.save(ctx.conn, self.table, str(last), done=done)
                ctx.batch_done(self.table, len(rows))
        finally:
            src.close()

    def checks(self, ctx: MigrationContext) -> list[TableCheck]:
        src = self._source(ctx)
        if src is None:
            return [TableCheck(self.table, 0, 0, Tally().checksum, Tally().checksum, absent=True)]
        try:
            columns = self._columns(src)
            quoted = ", ".join(f'"{c}"' for c in columns)
            source = tally(src.execute(f"SELECT {quoted} FROM {self.table}"))
        finally:
            src.close()
        target = tally(ctx.conn.execute(f"SELECT {quoted} FROM {self.table}"))
        return [TableCheck(self.table, source.rows, target.rows, source.checksum, target.checksum)]


def tally(rows: Iterable[Sequence[object]]) -> Tally:
    out = Tally()
    for row in rows:
        out.add(row)
    return out


REGISTRY: list[MigrationTable] = []
"""What ``ragwright migrate`` copies, in order (the index first: :mod:`ragwright.store.migrate_index`)."""


def register(table: MigrationTable) -> MigrationTable:
    """Add ``table`` to :data:`REGISTRY` (once per name)."""
    if any(t.name == table.name for t in REGISTRY):
        raise ValueError(f"migration table {table.name} is registered twice")
    REGISTRY.append(table)
    return table
