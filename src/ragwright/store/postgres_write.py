"""The write path of the PostgreSQL store: a document's rows in and out, inside the caller's transaction.

A document is its ``documents`` row, one ``chunks`` row per chunk (with its vector) and the chunk's postings; the
tenant's ``n_chunks``/``n_terms`` totals (the BM25 statistics) move with them in the same transaction, exactly as in
:mod:`ragwright.store.sqlite_write`. Terms come from the same analyzer, so both stores index identical terms.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg.types.json import Jsonb

from ragwright.answering.injection import flag
from ragwright.documents.model import Chunk, Document, source_map_json, spans_json
from ragwright.retrieval.analysis import analyze

DOCUMENT_WRITE_COLUMNS = "tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks, ingested_at"
CHUNK_WRITE_COLUMNS = (
    "tenant, doc_id, chunk_id, ordinal, text, context, char_start, char_end, heading_path, page, n_tokens, n_terms,"
    " text_hash, injection, source_spans, embedding"
)


@functools.lru_cache(maxsize=16_384)
def analysed(context: str, text: str) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """A chunk's context terms, all its terms (context first) and its injection flag; identical chunks (a document
    ingested again, replicated text) are analysed once."""
    context_terms = analyze(context)
    kind = flag(text)
    return tuple(context_terms), tuple(context_terms + analyze(text)), kind.value if kind is not None else None


def document_values(tenant: str, doc: Document, n_chunks: int) -> tuple[Any, ...]:
    """A ``documents`` row in :data:`DOCUMENT_WRITE_COLUMNS` order."""
    return (
        tenant,
        doc.doc_id,
        doc.source,
        doc.file_type,
        doc.title,
        doc.content_hash,
        list(doc.tags),
        Jsonb(doc.metadata),
        n_chunks,
        time.time(),
    )


def chunk_values(tenant: str, doc_id: str, chunk: Chunk, vector: Any) -> tuple[Any, ...]:
    """A ``chunks`` row in :data:`CHUNK_WRITE_COLUMNS` order."""
    _, terms, injection = analysed(chunk.context, chunk.text)
    return (
        tenant,
        doc_id,
        chunk.id,
        chunk.ordinal,
        chunk.text,
        chunk.context,
        chunk.char_start,
        chunk.char_end,
        list(chunk.heading_path),
        chunk.page,
        chunk.n_tokens,
        len(terms),
        chunk.text_hash,
        injection,
        spans_json(chunk.source_spans),
        np.asarray(vector, dtype=np.float32),
    )


def posting_values(tenant: str, rid: int, chunk: Chunk) -> list[tuple[str, str, int, int, int, int]]:
    """The chunk's ``postings`` rows: ``(tenant, term, chunk, tf, tf_context, dl)``."""
    context_terms, terms, _ = analysed(chunk.context, chunk.text)
    in_context = Counter(context_terms)
    return [(tenant, term, rid, tf, in_context.get(term, 0), len(terms)) for term, tf in Counter(terms).items()]


def insert_document(
    conn: Any, tenant: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]
) -> None:
    """Insert ``doc`` with its chunks, vectors and postings; the caller deleted any old rows."""
    conn.execute(
        f"INSERT INTO documents ({DOCUMENT_WRITE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        document_values(tenant, doc, len(chunks)),
    )
    if doc.original is not None:
        conn.execute(
            "INSERT INTO document_originals (tenant, doc_id, media_type, data, source_map) VALUES (%s, %s, %s, %s, %s)",
            (tenant, doc.doc_id, doc.original.media_type, doc.original.data, _map_json(doc)),
        )
    if not chunks:
        return
    rows = [chunk_values(tenant, doc.doc_id, chunk, vector) for chunk, vector in zip(chunks, vectors, strict=True)]
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO chunks ({CHUNK_WRITE_COLUMNS})"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            rows,
            returning=True,
        )
        ids: list[int] = []
        while True:
            ids.append(int(cur.fetchone()[0]))
            if not cur.nextset():
                break
        postings = [p for rid, chunk in zip(ids, chunks, strict=True) for p in posting_values(tenant, rid, chunk)]
        cur.executemany(
            "INSERT INTO postings (tenant, term, chunk, tf, tf_context, dl) VALUES (%s, %s, %s, %s, %s, %s)", postings
        )
    add_to_totals(conn, tenant, len(chunks), sum(r[11] for r in rows), added=(min(ids), max(ids)))


CHANGES_KEPT = 10_000
"""Versions of a tenant's change log kept (``tenant_changes``): a process holding postings older than that reloads."""


def add_to_totals(
    conn: Any,
    tenant: str,
    n_chunks: int,
    n_terms: int,
    *,
    added: tuple[int, int] | None = None,
    removed: Sequence[int] = (),
) -> None:
    """Move the tenant's BM25 totals, bump its version (what searches in every process check) and log what the new
    version changed — the chunk ids ``added`` (first, last) and ``removed`` — so that processes holding the
    tenant's postings refresh them instead of reloading (:mod:`ragwright.store.keyword_refresh`); log entries older
    than :data:`CHANGES_KEPT` versions are pruned in the same statement."""
    conn.execute(
        "WITH t AS (UPDATE tenants SET n_chunks = n_chunks + %(n)s, n_terms = n_terms + %(terms)s,"
        " version = version + 1 WHERE tenant = %(tenant)s RETURNING version),"
        " logged AS (INSERT INTO tenant_changes (tenant, version, added_from, added_to, removed)"
        " SELECT %(tenant)s, t.version, %(lo)s, %(hi)s, %(removed)s::int8[] FROM t)"
        " DELETE FROM tenant_changes c USING t WHERE c.tenant = %(tenant)s AND c.version <= t.version - %(kept)s",
        {
            "n": n_chunks,
            "terms": n_terms,
            "tenant": tenant,
            "lo": added[0] if added else None,
            "hi": added[1] if added else None,
            "removed": list(removed),
            "kept": CHANGES_KEPT,
        },
    )


def _map_json(doc: Document) -> str | None:
    return source_map_json(doc.source_map) if doc.source_map is not None else None


def lock_tenant(conn: Any, tenant: str) -> None:
    """Create the tenant's statistics row if needed and lock it: one writer per tenant at a time, like SQLite's
    ``BEGIN IMMEDIATE``, so two ingests of the same document cannot interleave."""
    conn.execute("INSERT INTO tenants (tenant) VALUES (%s) ON CONFLICT (tenant) DO NOTHING", (tenant,))
    conn.execute("SELECT 1 FROM tenants WHERE tenant = %s FOR UPDATE", (tenant,))


def delete_document(conn: Any, tenant: str, doc_id: str) -> bool:
    """Delete ``doc_id`` and every row that belongs to it (chunks and postings go by cascade); return whether the
    document existed."""
    n, n_terms, ids = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(n_terms), 0), COALESCE(array_agg(id), '{}') FROM chunks"
        " WHERE tenant = %s AND doc_id = %s",
        (tenant, doc_id),
    ).fetchone()
    if n:
        add_to_totals(conn, tenant, -int(n), -int(n_terms), removed=ids)
    cur = conn.execute("DELETE FROM documents WHERE tenant = %s AND doc_id = %s", (tenant, doc_id))
    return bool(cur.rowcount > 0)
