"""The write path of the embedded store: a document's rows in and out, inside the caller's transaction.

A document is its ``documents`` row, one ``chunks`` row per chunk, the chunk's postings in the tenant's keyword table
and its vector in ``chunks_vec``; the tenant's ``n_chunks``/``n_terms`` totals (the BM25 statistics) and ``version``
(which invalidates the in-memory caches) move with them. :class:`~ragwright.store.sqlite.SQLiteStore` opens the
transaction and holds the lock; these functions only issue the statements.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.answering.injection import flag
from ragwright.documents.model import Chunk, Document, source_map_json, spans_json
from ragwright.retrieval.analysis import analyze
from ragwright.store.sql import batches


def create_vector_table(db: Any, dim: int) -> None:
    """The sqlite-vec table, partitioned by tenant; created when the index is bound to an embedder of ``dim``."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vec USING vec0("
        f"tenant TEXT PARTITION KEY, embedding float[{int(dim)}] distance_metric=cosine)"
    )


def create_keyword_table(db: Any, tenant: str) -> str:
    """Create the tenant's postings table (named by a hash of the tenant) and register it; return its name."""
    name = "kw_" + hashlib.sha1(tenant.encode("utf-8")).hexdigest()[:20]
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {name} (term TEXT NOT NULL, rid INTEGER NOT NULL, tf INTEGER NOT NULL,"
        " tf_context INTEGER NOT NULL, dl INTEGER NOT NULL, PRIMARY KEY (term, rid)) WITHOUT ROWID"
    )
    db.execute(f"CREATE INDEX IF NOT EXISTS {name}_rid ON {name} (rid)")
    db.execute("INSERT OR IGNORE INTO tenants (tenant, kw_table) VALUES (?, ?)", (tenant, name))
    return name


def insert_document(
    db: Any, tenant: str, kw: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]
) -> None:
    """Insert ``doc`` with its chunks, postings (into table ``kw``) and vectors; the caller deleted any old rows."""
    db.execute(
        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            tenant,
            doc.doc_id,
            doc.source,
            doc.file_type,
            doc.title,
            doc.content_hash,
            json.dumps(list(doc.tags)),
            json.dumps(doc.metadata),
            len(chunks),
            time.time(),
        ),
    )
    if doc.original is not None:
        smap = source_map_json(doc.source_map) if doc.source_map is not None else None
        db.execute(
            "INSERT INTO document_originals (tenant, doc_id, media_type, data, source_map) VALUES (?, ?, ?, ?, ?)",
            (tenant, doc.doc_id, doc.original.media_type, doc.original.data, smap),
        )
    total_terms = 0
    for chunk, vector in zip(chunks, vectors, strict=True):
        context_terms = analyze(chunk.context)
        terms = context_terms + analyze(chunk.text)
        total_terms += len(terms)
        cur = db.execute(
            "INSERT INTO chunks (tenant, doc_id, chunk_id, ordinal, text, context, char_start, char_end,"
            " heading_path, page, n_tokens, n_terms, text_hash, injection, source_spans)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                tenant,
                doc.doc_id,
                chunk.id,
                chunk.ordinal,
                chunk.text,
                chunk.context,
                chunk.char_start,
                chunk.char_end,
                json.dumps(list(chunk.heading_path)),
                chunk.page,
                chunk.n_tokens,
                len(terms),
                chunk.text_hash,
                kind.value if (kind := flag(chunk.text)) is not None else None,
                spans_json(chunk.source_spans),
            ),
        )
        rowid = cur.lastrowid
        in_context = Counter(context_terms)
        db.executemany(
            f"INSERT INTO {kw} (term, rid, tf, tf_context, dl) VALUES (?, ?, ?, ?, ?)",
            [(term, rowid, tf, in_context.get(term, 0), len(terms)) for term, tf in Counter(terms).items()],
        )
        db.execute(
            "INSERT INTO chunks_vec (rowid, tenant, embedding) VALUES (?, ?, ?)",
            (rowid, tenant, np.asarray(vector, dtype=np.float32).tobytes()),
        )
    db.execute(
        "UPDATE tenants SET n_chunks = n_chunks + ?, n_terms = n_terms + ?, version = version + 1 WHERE tenant = ?",
        (len(chunks), total_terms, tenant),
    )


def delete_document(db: Any, tenant: str, doc_id: str, kw: str | None) -> bool:
    """Delete ``doc_id`` and every row that belongs to it (``kw`` is the tenant's postings table, if it has one);
    return whether the document existed."""
    rows = db.execute("SELECT id, n_terms FROM chunks WHERE tenant = ? AND doc_id = ?", (tenant, doc_id)).fetchall()
    rowids = [r[0] for r in rows]
    if rows:
        db.execute(
            "UPDATE tenants SET n_chunks = n_chunks - ?, n_terms = n_terms - ?, version = version + 1 WHERE tenant = ?",
            (len(rows), sum(r[1] for r in rows), tenant),
        )
    for batch in batches(rowids, 500):
        marks = ",".join("?" * len(batch))
        if kw is not None:
            db.execute(f"DELETE FROM {kw} WHERE rid IN ({marks})", batch)
        db.execute(f"DELETE FROM chunks_vec WHERE rowid IN ({marks})", batch)
        db.execute(f"DELETE FROM chunks WHERE id IN ({marks})", batch)
    db.execute("DELETE FROM document_originals WHERE tenant = ? AND doc_id = ?", (tenant, doc_id))
    cur = db.execute("DELETE FROM documents WHERE tenant = ? AND doc_id = ?", (tenant, doc_id))
    return bool(cur.rowcount > 0)
