"""The write path of the PostgreSQL store: a document's rows in and out, inside the caller's transaction.

A document is its ``documents`` row, one ``chunks`` row per chunk (with its vector) and the chunk's postings; the
tenant's ``n_chunks``/``n_terms`` totals (the BM25 statistics) move with them in the same transaction, exactly as in
:mod:`ragwright.store.sqlite_write`. Terms come from the same analyzer, so both stores index identical terms.
"""

from __future__ import annotations

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


def insert_document(
    conn: Any, tenant: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]
) -> None:
    """Insert ``doc`` with its chunks, vectors and postings; the caller deleted any old rows."""
    conn.execute(
        "INSERT INTO documents (tenant, doc_id, source, file_type, title, content_hash, tags, metadata, n_chunks,"
        " ingested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            tenant,
            doc.doc_id,
            doc.source,
            doc.file_type,
            doc.title,
            doc.content_hash,
            list(doc.tags),
            Jsonb(doc.metadata),
            len(chunks),
            time.time(),
        ),
    )
    if doc.original is not None:
        conn.execute(
            "INSERT INTO document_originals (tenant, doc_id, media_type, data, source_map) VALUES (%s, %s, %s, %s, %s)",
            (tenant, doc.doc_id, doc.original.media_type, doc.original.data, _map_json(doc)),
        )
    if not chunks:
        return
    rows: list[tuple[Any, ...]] = []
    terms_of: list[tuple[list[str], list[str]]] = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        context_terms = analyze(chunk.context)
        terms = context_terms + analyze(chunk.text)
        terms_of.append((context_terms, terms))
        rows.append(
            (
                tenant,
                doc.doc_id,
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
                kind.value if (kind := flag(chunk.text)) is not None else None,
                spans_json(chunk.source_spans),
                np.asarray(vector, dtype=np.float32),
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO chunks (tenant, doc_id, chunk_id, ordinal, text, context, char_start, char_end,"
            " heading_path, page, n_tokens, n_terms, text_hash, injection, source_spans, embedding)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            rows,
            returning=True,
        )
        ids: list[int] = []
        while True:
            ids.append(int(cur.fetchone()[0]))
            if not cur.nextset():
                break
        postings: list[tuple[Any, ...]] = []
        for rid, (context_terms, terms) in zip(ids, terms_of, strict=True):
            in_context = Counter(context_terms)
            postings += [
                (tenant, term, rid, tf, in_context.get(term, 0), len(terms)) for term, tf in Counter(terms).items()
            ]
        cur.executemany(
            "INSERT INTO postings (tenant, term, chunk, tf, tf_context, dl) VALUES (%s, %s, %s, %s, %s, %s)", postings
        )
    conn.execute(
        "UPDATE tenants SET n_chunks = n_chunks + %s, n_terms = n_terms + %s, version = version + 1 WHERE tenant = %s",
        (len(chunks), sum(len(t) for _, t in terms_of), tenant),
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
    n, n_terms = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(n_terms), 0) FROM chunks WHERE tenant = %s AND doc_id = %s", (tenant, doc_id)
    ).fetchone()
    if n:
        conn.execute(
            "UPDATE tenants SET n_chunks = n_chunks - %s, n_terms = n_terms - %s, version = version + 1"
            " WHERE tenant = %s",
            (n, n_terms, tenant),
        )
    cur = conn.execute("DELETE FROM documents WHERE tenant = %s AND doc_id = %s", (tenant, doc_id))
    return bool(cur.rowcount > 0)
