"""SQL helpers shared by the SQL stores: filters, document listing, BM25 scoring, batching and error translation."""

from __future__ import annotations

import errno
import functools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import sqlean as sqlite3

from ragwright.answering.injection import InjectionKind
from ragwright.documents.model import Chunk, spans_from_json
from ragwright.errors import DiskFull, StoreError
from ragwright.store.base import DocumentInfo, Filters, StoredChunk

F = TypeVar("F", bound=Callable[..., Any])


def db_errors(method: F) -> F:
    """Translate SQLite failures of a read into StoreError at the store's boundary."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot read index {self.path}: {exc} (if it was built by a development version of "
                "ragwright, delete it and ingest again)"
            ) from exc

    return wrapper  # type: ignore[return-value]


def write_error(exc: BaseException, message: str) -> StoreError:
    """The error for a failed write: :class:`DiskFull` when the disk (or the database's size cap) is full, so the
    front doors can say "no space left" (HTTP 507) while reads go on; otherwise a plain :class:`StoreError`."""
    full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    if full or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        return DiskFull(f"{message}: no space left on device")
    return StoreError(f"{message}: {exc}")


def check_tenant(tenant: str) -> None:
    if not isinstance(tenant, str) or not tenant:
        raise StoreError("a tenant is required for every store call")


def check_upsert(tenant: str, doc_id: str, n_chunks: int, vectors: Any, dim: int | None) -> None:
    """What every store checks before writing a document: a tenant, one vector per chunk, of the index's dimension."""
    check_tenant(tenant)
    if n_chunks != len(vectors):
        raise StoreError(f"{n_chunks} chunks but {len(vectors)} vectors for {doc_id}")
    if n_chunks and dim is None:
        raise StoreError("bind_embedder() must be called before the first upsert")
    if n_chunks and (vectors.ndim != 2 or vectors.shape[1] != dim):
        raise StoreError(f"vectors of shape {vectors.shape} do not fit this index ({dim} dims)")


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """SQL conditions over aliases ``c`` (chunks) and ``d`` (documents) for ``filters``."""
    if not filters:
        return "", []
    parts: list[str] = []
    params: list[Any] = []
    if filters.paths:
        parts.append("(" + " OR ".join("d.doc_id GLOB ?" for _ in filters.paths) + ")")
        params.extend(filters.paths)
    if filters.file_types:
        parts.append(f"d.file_type IN ({','.join('?' * len(filters.file_types))})")
        params.extend(ft.lower().lstrip(".") for ft in filters.file_types)
    if filters.tags:
        parts.append(f"EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value IN ({','.join('?' * len(filters.tags))}))")
        params.extend(filters.tags)
    return " AND " + " AND ".join(parts), params


def document_rows(
    db: Any, tenant: str, *, after: str | None, limit: int | None, tags: Sequence[str]
) -> list[DocumentInfo]:
    """A tenant's documents ordered by id: a keyset page when ``after``/``limit`` are given (ids greater than
    ``after``, at most ``limit`` of them), only documents carrying one of ``tags`` when given; all in the query."""
    if limit is not None and limit <= 0:
        return []
    where, params = filter_sql(Filters(tags=tuple(tags)))
    if after is not None:
        where += " AND d.doc_id > ?"
        params.append(after)
    rows = db.execute(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE d.tenant = ?{where} ORDER BY d.doc_id LIMIT ?",
        (tenant, *params, -1 if limit is None else limit),
    ).fetchall()
    return [_document_info(r) for r in rows]


def document_row(db: Any, tenant: str, doc_id: str) -> DocumentInfo | None:
    """One document of the tenant by id (a primary-key lookup), or None."""
    row = db.execute(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE d.tenant = ? AND d.doc_id = ?", (tenant, doc_id)
    ).fetchone()
    return _document_info(row) if row is not None else None


_DOCUMENT_COLUMNS = (
    "d.doc_id, d.source, d.file_type, d.title, d.content_hash, d.n_chunks, d.tags, d.ingested_at,"
    " (SELECT COUNT(*) FROM chunks c WHERE c.tenant = d.tenant AND c.doc_id = d.doc_id AND c.injection IS NOT NULL)"
)


def _document_info(r: Sequence[Any]) -> DocumentInfo:
    return DocumentInfo(
        doc_id=r[0],
        source=r[1],
        file_type=r[2],
        title=r[3],
        content_hash=r[4],
        n_chunks=r[5],
        tags=tuple(json.loads(r[6])),
        ingested_at=r[7],
        flagged_chunks=r[8],
    )


CHUNK_SELECT = (
    "SELECT c.chunk_id, c.doc_id, c.ordinal, c.text, c.context, c.char_start, c.char_end,"
    " c.heading_path, c.page, c.n_tokens, d.source, d.title, d.file_type, d.tags, c.injection,"
    " c.source_spans"
    " FROM chunks c JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id"
)
"""A chunk with the document fields a citation needs; both SQL stores add their own ``WHERE``."""


def stored_chunk(row: Sequence[Any], strings: Callable[[Any], Sequence[str]]) -> StoredChunk:
    """A row of :data:`CHUNK_SELECT` as a :class:`StoredChunk`; ``strings`` reads a list column (JSON text in
    SQLite, an array in PostgreSQL)."""
    chunk = Chunk(
        id=row[0],
        doc_id=row[1],
        ordinal=row[2],
        text=row[3],
        context=row[4],
        char_start=row[5],
        char_end=row[6],
        heading_path=tuple(strings(row[7])),
        page=row[8],
        n_tokens=row[9],
        source_spans=spans_from_json(row[15]),
    )
    return StoredChunk(
        chunk=chunk,
        doc_path=row[1],
        doc_title=row[11],
        file_type=row[12],
        tags=tuple(strings(row[13])),
        injection=InjectionKind(row[14]) if row[14] else None,
    )


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bm25_idf(n_chunks: int, df: int) -> float:
    """Lucene's IDF, never negative: ``ln(1 + (N - df + 0.5) / (df + 0.5))``."""
    return math.log(1.0 + (n_chunks - df + 0.5) / (df + 0.5))


def bm25_sql(
    table: str, n_terms: int, *, k1: float, b: float, avgdl: float, context_weight: float, filters: Filters | None
) -> tuple[str, str, list[Any]]:
    """The BM25 ranking query over a postings table ``(term, rid, tf, tf_context, dl)``.

    Returns ``(sql, mode, filter_params)``; the caller binds ``(idf, term)`` pairs for each of the ``n_terms`` query
    terms, then, for ``mode == "filtered"``, the tenant, the filter parameters and k; else k and the tenant.
    """
    boost = context_weight - 1.0  # title/heading occurrences count context_weight times
    postings = " UNION ALL ".join(
        f"SELECT rid, tf + {boost!r} * tf_context AS tf, dl, ? AS idf FROM {table} WHERE term = ?"
        for _ in range(n_terms)
    )
    score = f"SUM(p.idf * p.tf * {k1 + 1.0!r} / (p.tf + {k1!r} * ({1.0 - b!r} + {b / avgdl!r} * p.dl)))"
    where, params = filter_sql(filters)
    if where:  # filter before ranking, inside the query
        return (
            f"SELECT c.chunk_id, {score} AS s FROM ({postings}) p JOIN chunks c ON c.id = p.rid"
            " JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id"
            f" WHERE c.tenant = ?{where} GROUP BY p.rid ORDER BY s DESC, p.rid LIMIT ?",
            "filtered",
            params,
        )
    return (
        f"SELECT c.chunk_id, r.s FROM (SELECT p.rid AS rid, {score} AS s FROM ({postings}) p"
        " GROUP BY p.rid ORDER BY s DESC, p.rid LIMIT ?) r JOIN chunks c ON c.id = r.rid"
        " WHERE c.tenant = ? ORDER BY r.s DESC, r.rid",
        "plain",
        [],
    )


def bm25_search(
    db: Any,
    table: str,
    tenant: str,
    terms: Sequence[str],
    k: int,
    *,
    k1: float,
    b: float,
    context_weight: float,
    filters: Filters | None,
) -> list[tuple[str, float]]:
    """The SQL path of keyword search: ``(chunk_id, score)`` of the top ``k`` chunks for distinct ``terms``."""
    n_chunks, n_terms = db.execute("SELECT n_chunks, n_terms FROM tenants WHERE tenant = ?", (tenant,)).fetchone()
    if n_chunks <= 0:
        return []
    df = {t: db.execute(f"SELECT COUNT(*) FROM {table} WHERE term = ?", (t,)).fetchone()[0] for t in terms}
    present = [t for t in terms if df[t]]
    if not present:
        return []
    args: list[Any] = []
    for t in present:
        args += [bm25_idf(n_chunks, df[t]), t]
    sql, shape, params = bm25_sql(
        table, len(present), k1=k1, b=b, avgdl=n_terms / n_chunks, context_weight=context_weight, filters=filters
    )
    bind = (*args, tenant, *params, k) if shape == "filtered" else (*args, k, tenant)
    return [(cid, float(sc)) for cid, sc in db.execute(sql, bind).fetchall()]


def read_vectors(db: Any, tenant: str, rowids: Sequence[int], dim: int) -> tuple[list[int], npt.NDArray[np.float32]]:
    """The vectors of ``rowids`` from the vec0 table (in batches), as found ids and a matrix in the same order."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for batch in batches(list(rowids), 500):
        marks = ",".join("?" * len(batch))
        for rowid, blob in db.execute(
            f"SELECT rowid, embedding FROM chunks_vec WHERE tenant = ? AND rowid IN ({marks})", (tenant, *batch)
        ):
            ids.append(int(rowid))
            blobs.append(blob)
    return ids, np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
