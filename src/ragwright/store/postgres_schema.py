"""Schema of the PostgreSQL store, through the project's one migration mechanism (:mod:`ragwright.sqlite_migrations`).

:data:`PG_INDEX` is a :class:`~ragwright.sqlite_migrations.Schema` like the SQLite index's; :func:`migrate_postgres`
applies its pending steps on a psycopg connection, each in its own transaction together with the row that records its
name in the ``migrations`` table, under a transaction-scoped advisory lock so that concurrent openers (several API
workers) apply each step exactly once. A database that records a step this code does not know is refused
(:class:`~ragwright.errors.SchemaVersionError`), as for SQLite files.

Every table carries the tenant; the postings table is keyed ``(tenant, term, chunk)`` so a tenant's statistics are read
from its own rows only (docs/adr/0006). The ``embedding`` column gets its width when the store is bound to an embedder.
"""

from __future__ import annotations

import time
from typing import Any

from ragwright.sqlite_migrations import Schema, refuse_newer

PG_INDEX = Schema("pg_index")
"""The PostgreSQL index's migrations, recorded as ``pg_index.<name>``."""
migration = PG_INDEX.migration

_LOCK_KEY = 0x72616777  # "ragw": the advisory lock that serialises migrations of one database


def migrate_postgres(conn: Any, schema: Schema, *, where: object = "this database") -> list[str]:
    """Apply ``schema``'s pending migrations on psycopg connection ``conn`` (autocommit); return the names applied."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
    refuse_newer(conn, schema, where)
    applied: list[str] = []
    for name, fn in schema.steps:
        if _recorded(conn, name):
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            if not _recorded(conn, name):  # another process applied it while we waited for the lock
                fn(conn)
                conn.execute("INSERT INTO migrations VALUES (%s, %s)", (name, time.time()))
                applied.append(name)
    return applied


def _recorded(conn: Any, name: str) -> bool:
    return conn.execute("SELECT 1 FROM migrations WHERE name = %s", (name,)).fetchone() is not None


@migration
def m001_initial(conn: Any) -> None:
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    for statement in (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE tenants (
            tenant TEXT PRIMARY KEY,
            n_chunks BIGINT NOT NULL DEFAULT 0,
            n_terms BIGINT NOT NULL DEFAULT 0,
            version BIGINT NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE documents (
            tenant TEXT NOT NULL,
            doc_id TEXT COLLATE "C" NOT NULL,
            source TEXT NOT NULL,
            file_type TEXT NOT NULL,
            title TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            tags TEXT[] NOT NULL DEFAULT '{}',
            metadata JSONB NOT NULL DEFAULT '{}',
            n_chunks INTEGER NOT NULL,
            ingested_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (tenant, doc_id)
        )""",
        """CREATE TABLE chunks (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant TEXT NOT NULL,
            doc_id TEXT COLLATE "C" NOT NULL,
            chunk_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            context TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            heading_path TEXT[] NOT NULL,
            page INTEGER,
            n_tokens INTEGER NOT NULL,
            n_terms INTEGER NOT NULL,
            text_hash TEXT NOT NULL,
            injection TEXT,
            embedding vector NOT NULL,
            FOREIGN KEY (tenant, doc_id) REFERENCES documents (tenant, doc_id) ON DELETE CASCADE
        )""",
        "CREATE UNIQUE INDEX chunks_by_id ON chunks (tenant, chunk_id)",
        "CREATE INDEX chunks_by_doc ON chunks (tenant, doc_id)",
        "CREATE INDEX chunks_by_text_hash ON chunks (tenant, text_hash)",
        """CREATE TABLE postings (
            tenant TEXT NOT NULL,
            term TEXT NOT NULL,
            chunk BIGINT NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
            tf INTEGER NOT NULL,
            tf_context INTEGER NOT NULL,
            dl INTEGER NOT NULL,
            PRIMARY KEY (tenant, term, chunk)
        )""",
        "CREATE INDEX postings_by_chunk ON postings (chunk)",
    ):
        conn.execute(statement)


@migration
def m002_chunk_source_spans(conn: Any) -> None:
    """Per chunk, where its text sits in the original file (the SQLite index's ``m003_chunk_source_spans``)."""
    conn.execute("ALTER TABLE chunks ADD COLUMN source_spans TEXT NOT NULL DEFAULT '[]'")


@migration
def m003_vectors_inline(conn: Any) -> None:
    """Keep vectors in the row (``STORAGE PLAIN``) rather than in TOAST: an exact scan then reads each vector with its
    row instead of one TOAST lookup per row (5x faster at 20,000 chunks, docs/postgres.md). Applies to rows written
    from now on; ``VACUUM FULL chunks`` rewrites older ones."""
    conn.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN")


@migration
def m004_document_originals(conn: Any) -> None:
    """Per document, what a citation viewer shows and its source map (the SQLite index's
    ``m004_document_originals``); removed with the document."""
    conn.execute(
        'CREATE TABLE document_originals (tenant TEXT NOT NULL, doc_id TEXT COLLATE "C" NOT NULL,'
        " media_type TEXT NOT NULL, data BYTEA NOT NULL, source_map TEXT, PRIMARY KEY (tenant, doc_id),"
        " FOREIGN KEY (tenant, doc_id) REFERENCES documents (tenant, doc_id) ON DELETE CASCADE)"
    )


@migration
def m005_tenant_changes(conn: Any) -> None:
    """What each write changed, by the tenant version it produced: the chunk ids it added (a range: a tenant's writes
    are serialised, so no other write of the tenant takes ids inside it) and the ids it removed. A process holding a
    tenant's postings at an older version reads the entries after it and applies them instead of reloading
    everything (docs/adr/0012, "Refresh"). Old entries are pruned by the writes (:func:`postgres_write.add_to_totals`);
    a holder whose version is older than what is kept reloads."""
    conn.execute(
        "CREATE TABLE tenant_changes (tenant TEXT NOT NULL, version BIGINT NOT NULL, added_from BIGINT,"
        " added_to BIGINT, removed BIGINT[] NOT NULL DEFAULT '{}', PRIMARY KEY (tenant, version))"
    )


VECTORS_INLINE = "ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN"
"""Keep each vector in its row unless the row cannot fit a page without it (then out of line, as a last resort).
``PLAIN`` (m003) would refuse a row outright instead: a 3,072-dimension vector (12 kB) never fits a page."""


@migration
def m006_vectors_inline_again(conn: Any) -> None:
    """Vectors back in the row: binding the embedder (``ALTER COLUMN embedding TYPE vector(dim)``) reset the column
    to pgvector's default storage, ``EXTERNAL``, undoing m003, so a row with a long text had its vector moved to TOAST
    and every search paid a TOAST lookup per candidate. ``MAIN`` keeps it inline (binding sets it again). Applies to
    rows written from now on; ``VACUUM FULL chunks`` rewrites older ones (docs/postgres.md)."""
    conn.execute(VECTORS_INLINE)
