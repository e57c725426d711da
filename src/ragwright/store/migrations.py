"""Schema migrations of the embedded index (see :mod:`ragwright.sqlite_migrations` for how they are applied).

Per-tenant objects (the keyword postings table ``kw_<hash>``) and the sqlite-vec table (its width is the embedder's
dimension) are created on demand by the store (:mod:`ragwright.store.sqlite_write`), not here, so a new tenant needs no
migration.
"""

from __future__ import annotations

from typing import Any

from ragwright.sqlite_migrations import Schema, execute_script

INDEX = Schema(None)
"""The index is a file of its own and predates namespaces: its migrations are recorded by bare name."""
migration = INDEX.migration
"""Decorator: the next migration of the index (``@migration def m002_...(db)``)."""


@migration
def m001_initial(db: Any) -> None:
    execute_script(
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


@migration
def m003_chunk_source_spans(db: Any) -> None:
    """Per chunk, where its text sits in the original file (:func:`~ragwright.documents.model.spans_json`), so a
    citation can be highlighted there; chunks indexed before this migration have none until they are re-ingested."""
    db.execute("ALTER TABLE chunks ADD COLUMN source_spans TEXT NOT NULL DEFAULT '[]'")


@migration
def m004_document_originals(db: Any) -> None:
    """Per document, what a citation viewer shows (:class:`~ragwright.documents.model.Original`: the PDF, or the
    decoded text) and its source map, so a cited span can be highlighted in the original; documents indexed before
    this migration have none until their file is re-ingested."""
    db.execute(
        "CREATE TABLE document_originals (tenant TEXT NOT NULL, doc_id TEXT NOT NULL, media_type TEXT NOT NULL,"
        " data BLOB NOT NULL, source_map TEXT, PRIMARY KEY (tenant, doc_id))"
    )
