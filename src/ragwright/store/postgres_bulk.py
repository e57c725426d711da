"""Bulk loading into the PostgreSQL store: new documents by binary ``COPY``, the HNSW index built after the load.

``upsert`` writes a document with one ``INSERT`` per chunk and per posting (``executemany``) and may build the
tenant's HNSW index as soon as it is due; for a large load that is a round trip per row and an index maintained row by
row. :func:`copy_documents` writes a batch of *new* documents (a document already in the tenant fails the batch
with a primary-key violation: use ``upsert`` to replace) in three binary ``COPY`` streams — documents, chunks (their
ids taken from the identity sequence beforehand, so postings can name them), postings — inside the caller's
transaction, with the same rows, analysis and totals as ``upsert`` (:mod:`ragwright.store.postgres_write`), and bumps
the tenant's version once per batch.

Example::

    store.bulk_load("acme", ((doc, chunks, vectors) for ...), batch_documents=500)   # then builds the index
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.documents.model import Chunk, Document
from ragwright.store.postgres_write import (
    CHUNK_WRITE_COLUMNS,
    DOCUMENT_WRITE_COLUMNS,
    add_to_totals,
    chunk_values,
    document_values,
    posting_values,
)

__all__ = ["Batch", "copy_documents"]

Batch = Sequence[tuple[Document, Sequence[Chunk], npt.NDArray[np.float32]]]

_DOCUMENT_TYPES = ["text", "text", "text", "text", "text", "text", "text[]", "jsonb", "int4", "float8"]
_CHUNK_TYPES = ["int8", "text", "text", "text", "int4", "text", "text", "int4", "int4", "text[]", "int4", "int4"]
_CHUNK_TYPES += ["int4", "text", "text", "text", "vector"]
_POSTING_TYPES = ["text", "text", "int8", "int4", "int4", "int4"]


def copy_documents(conn: Any, tenant: str, batch: Batch) -> int:
    """Write ``batch`` (documents not yet in the tenant) by binary COPY inside the caller's transaction, the tenant
    locked; return the number of chunks written."""
    n_chunks = sum(len(chunks) for _, chunks, _ in batch)
    ids = iter(
        int(r[0])
        for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, %s)", (n_chunks,)
        )
    )
    with conn.cursor() as cur:
        with cur.copy(f"COPY documents ({DOCUMENT_WRITE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_DOCUMENT_TYPES)
            for doc, chunks, _ in batch:
                copy.write_row(document_values(tenant, doc, len(chunks)))
        rids: list[int] = []
        n_terms = 0
        with cur.copy(f"COPY chunks (id, {CHUNK_WRITE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_CHUNK_TYPES)
            for doc, chunks, vectors in batch:
                for chunk, vector in zip(chunks, vectors, strict=True):
                    rid = next(ids)
                    values = chunk_values(tenant, doc.doc_id, chunk, vector)
                    n_terms += values[11]
                    copy.write_row((rid, *values))
                    rids.append(rid)
        with cur.copy("COPY postings (tenant, term, chunk, tf, tf_context, dl) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_POSTING_TYPES)
            written = iter(rids)
            for _, chunks, _ in batch:
                for chunk in chunks:
                    for row in posting_values(tenant, next(written), chunk):
                        copy.write_row(row)
    add_to_totals(conn, tenant, n_chunks, n_terms, added=(min(rids), max(rids)) if rids else None)
    return n_chunks
