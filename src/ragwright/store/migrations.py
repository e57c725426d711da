"""Schema migrations of the embedded store: named functions, each applied once and recorded by name.

Per-tenant objects (the FTS5 table) are created on demand by the store, not here, so a new tenant needs no migration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Migration = Callable[[Any], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: Any) -> None:
    _execute_all(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE tenants (
            tenant TEXT PRIMARY KEY,
            kw_table TEXT NOT NULL UNIQUE,
            n_chunks INTEGER NOT NULL DEFAULT 0,
            n_terms INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE documents (
            tenant TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            source TEXT NOT NULL,
            file_type TEXT NOT NULL,
            title TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            n_chunks INTEGER NOT NULL,
            ingested_at REAL NOT NULL,
            PRIMARY KEY (tenant, doc_id)
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            chunk_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            context TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            heading_path TEXT NOT NULL,
            page INTEGER,
            n_tokens INTEGER NOT NULL,
            n_terms INTEGER NOT NULL,
            text_hash TEXT NOT NULL
        );
        CREATE UNIQUE INDEX chunks_by_id ON chunks (tenant, chunk_id);
        CREATE INDEX chunks_by_doc ON chunks (tenant, doc_id);
        CREATE INDEX chunks_by_text_hash ON chunks (tenant, text_hash);
        """,
    )


@migration
def m002_chunk_injection_flag(db: Any) -> None:
    """Per chunk, the :class:`~ragwright.answering.injection.InjectionKind` its text matched (NULL: none); chunks
    indexed before this migration are flagged here, so an old index is protected without a re-ingest."""
    from ragwright.answering.injection import flag

    db.execute("ALTER TABLE chunks ADD COLUMN injection TEXT")
    rows = db.execute("SELECT id, text FROM chunks").fetchall()
    db.executemany(
        "UPDATE chunks SET injection = ? WHERE id = ?",
        [(kind.value, rid) for rid, text in rows if (kind := flag(text)) is not None],
    )


def _execute_all(db: Any, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would commit first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def apply_migrations(db: Any) -> list[str]:
    """Apply pending migrations, one transaction each; return the names applied.

    ``db`` must be in autocommit mode (``isolation_level=None``) so that the explicit BEGIN/COMMIT here is the
    transaction boundary.
    """
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    applied: list[str] = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied


def known_migrations() -> set[str]:
    return {name for name, _ in MIGRATIONS}
