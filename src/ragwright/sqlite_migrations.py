"""Schema evolution for every SQLite file ragwright writes: named migration functions, each applied once.

A :class:`Schema` is the ordered list of migrations of one database, or of one component's tables in a file that
several components share (``service.sqlite`` holds knowledge bases and jobs). :func:`migrate` applies the pending
ones, each in its own ``BEGIN IMMEDIATE`` transaction together with the row that records its name in the file's
``migrations`` table, so a crash or a concurrent opener can never apply one twice or leave one half-applied. A file
that records a migration of this schema that the running code does not know was written by a newer ragwright and is
refused (:class:`~ragwright.errors.SchemaVersionError`) rather than misread.

Names are the function names, prefixed ``<namespace>.`` so that components sharing a file cannot collide (the index,
a file of its own that predates namespaces, records bare names). Files made before a schema had migrations are
adopted: its first migration is the DDL that code ran, written idempotently (``CREATE ... IF NOT EXISTS``), and a
later one that adds a column checks for it first.

Example::

    KEYS = Schema("keys")

    @KEYS.migration
    def m001_api_keys(db: Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS api_keys (key_id TEXT PRIMARY KEY, ...)")

    migrate(sqlite3.connect(path, isolation_level=None), KEYS)   # ["keys.m001_api_keys"] the first time, then []

The same :class:`Schema` registry and ``migrations`` table serve PostgreSQL: :func:`ragwright.store.postgres_schema.
migrate_postgres` applies a schema's steps on a psycopg connection with the same once-only rule (its own transaction
boundaries, an advisory lock in place of ``BEGIN IMMEDIATE``) and the same :func:`refuse_newer` check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ragwright.errors import SchemaVersionError

Migration = Callable[[Any], None]
"""A function that changes the schema through the connection it is given, inside the caller's transaction."""


class Schema:
    """The named migrations of one database (or one component's tables in a shared file), in the order they apply."""

    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.steps: list[tuple[str, Migration]] = []

    def migration(self, fn: Migration) -> Migration:
        """Decorator: append ``fn`` as the next migration, recorded under its function name."""
        name = fn.__name__ if self.namespace is None else f"{self.namespace}.{fn.__name__}"
        if any(name == known for known, _ in self.steps):
            raise ValueError(f"migration {name} is defined twice")
        self.steps.append((name, fn))
        return fn

    def names(self) -> list[str]:
        return [name for name, _ in self.steps]

    def owns(self, recorded: str) -> bool:
        """Whether a name recorded in a file belongs to this schema (rather than to another component's)."""
        if self.namespace is None:
            return "." not in recorded
        return recorded.startswith(self.namespace + ".")


def execute_script(db: Any, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would commit first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def columns(db: Any, table: str) -> set[str]:
    """The column names of ``table`` (empty when it does not exist)."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def migrate(db: Any, schema: Schema, *, where: object = "this database") -> list[str]:
    """Apply ``schema``'s pending migrations to ``db``; return the names applied (``where`` names the file in errors).

    Works on a ``sqlite3`` or ``sqlean`` connection in any transaction mode (it must not be inside a transaction);
    the connection's mode is restored afterwards.
    """
    if db.in_transaction:
        raise RuntimeError("migrate() needs a connection outside a transaction")
    mode = db.isolation_level
    db.isolation_level = None  # autocommit: the BEGIN/COMMIT below are the transaction boundaries
    try:
        db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        refuse_newer(db, schema, where)
        applied: list[str] = []
        for name, fn in schema.steps:
            if _recorded(db, name):  # cheap check first: an up-to-date file takes no write lock
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                if not _recorded(db, name):  # another process may have applied it while we waited for the lock
                    fn(db)
                    db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
                    applied.append(name)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return applied
    finally:
        db.isolation_level = mode


def _recorded(db: Any, name: str) -> bool:
    return db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone() is not None


def refuse_newer(db: Any, schema: Schema, where: object) -> None:
    """Raise :class:`SchemaVersionError` when ``db`` records a migration of ``schema`` this code does not know."""
    known = set(schema.names())
    unknown = sorted(r[0] for r in db.execute("SELECT name FROM migrations") if schema.owns(r[0]) and r[0] not in known)
    if unknown:
        raise SchemaVersionError(f"{where} was written by a newer ragwright (unknown migrations: {unknown})")
