"""BM25 in the PostgreSQL store: from the tenant's postings held in memory, checked against the tenant's version on
every query; in SQL when the tenant is not held (docs/adr/0012).

The in-memory side is the SQLite store's (:mod:`ragwright.store.keyword_cache`: the same :class:`KeywordCache`, the
same :func:`build_entry` weighting and :meth:`KeywordEntry.search` ranking), so both stores and both paths rank alike.
What is PostgreSQL's own:

- **Coherence across processes.** Every write bumps ``tenants.version`` in the same transaction as the postings. Each
  search first reads the tenant's row (one primary-key lookup, the round trip the SQL path made anyway) and uses the
  held entry only when its version is that one, so a search in any process sees every write committed before it,
  like the SQL path. A changed tenant is reloaded by the ski-rental rule of :class:`KeywordCache`, timed in wall
  seconds (the SQL path's cost is on the server).
- **Terms as 64-bit hashes.** A load reads ``hashtextextended(term, 0)`` with the chunk and the counts as
  fixed-width binary rows that the server packs into one ``bytea`` per slice of chunks (numpy reads them without a
  Python object per posting), not the term text: the term dictionary would cost a second pass over the postings.
  The query's terms are hashed by the server in the version lookup. Two different terms sharing a 64-bit hash would
  be merged (about 1 in 10^8 for a million distinct terms).
- **One snapshot.** Totals, chunk rows and postings are read in one ``REPEATABLE READ`` transaction.
- **Refresh after writes.** Every write logs what its version changed (``tenant_changes``: the chunk ids it added
  and removed, :func:`ragwright.store.postgres_write.add_to_totals`). A process holding an older version reads the
  log entries after it, the added chunks' rows and postings, and the totals, in one snapshot
  (:func:`refresh_postgres`), and applies them in memory (:mod:`ragwright.store.keyword_refresh`): the next search
  stays in memory and scores exactly like a fresh load. A gap in the log (pruned, or written by an older version of
  ragwright) falls back to the SQL path and a reload.
- **Concurrency.** One load per tenant at a time (a lock per tenant); searches of other tenants go on, and a search
  on the SQL path does not hold the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.errors import StoreError
from ragwright.store.base import Filters, ScoredChunk
from ragwright.store.keyword_cache import (
    BM25Params,
    ChunkRows,
    KeywordCache,
    KeywordEntry,
    Postings,
    TenantHead,
    build_entry,
)
from ragwright.store.keyword_refresh import Changes, refreshed
from ragwright.store.postgres_sql import bm25_query, filter_sql
from ragwright.store.sql import bm25_idf

__all__ = ["PostgresKeywords", "document_frequencies", "load_postgres", "refresh_postgres"]

_HEAD_SQL = (
    "SELECT t.version, t.n_chunks, t.n_terms,"
    " ARRAY(SELECT hashtextextended(q.term, 0) FROM unnest(%s::text[]) WITH ORDINALITY AS q(term, i) ORDER BY q.i)"
    " FROM tenants t WHERE t.tenant = %s"
)
_COLUMNS = (  # name, how the server packs it (big-endian), numpy's type of the packed values
    ("hash", "int8send(hashtextextended(term, 0))", ">i8"),
    ("chunk", "int8send(chunk)", ">i8"),
    ("tf", "int4send(tf)", ">i4"),
    ("tf_context", "int4send(tf_context)", ">i4"),
    ("dl", "int4send(dl)", ">i4"),
)
# Each column one bytea of fixed-width values, all in chunk order.
_PACKED = "SELECT " + ", ".join(f"string_agg({packed}, ''::bytea ORDER BY chunk)" for _, packed, _ in _COLUMNS)
_POSTINGS_SQL = _PACKED + " FROM postings WHERE tenant = %s AND chunk BETWEEN %s AND %s"  # one slice of chunks
# The chunk id ranges that changes added, each looked up by index (LATERAL, and OFFSET 0 so the planner does not
# flatten it): joined plainly, it scanned the whole chunks table in id order for ten ranges (800 ms at 200,000
# chunks instead of a few).
_RANGES = "unnest(%s::int8[], %s::int8[]) AS r(lo, hi), LATERAL"
_ADDED_POSTINGS_SQL = (
    _PACKED
    + f" FROM {_RANGES} (SELECT * FROM postings p WHERE p.tenant = %s AND p.chunk BETWEEN r.lo AND r.hi OFFSET 0) p"
)
_ADDED_CHUNKS_SQL = (
    f"SELECT c.id, c.chunk_id, c.doc_id FROM {_RANGES}"
    " (SELECT * FROM chunks c WHERE c.tenant = %s AND c.id BETWEEN r.lo AND r.hi OFFSET 0) c ORDER BY c.id"
)
_CHANGES_SQL = (
    "SELECT version, added_from, added_to, removed FROM tenant_changes"
    " WHERE tenant = %s AND version > %s AND version <= %s ORDER BY version"
)
Ints = npt.NDArray[np.integer[Any]]
_BATCH = 50_000  # chunks per slice: ~3 M postings, ~80 MB of rows for SciFact-like text


class PostgresKeywords:
    """Keyword search for :class:`~ragwright.store.postgres.PostgresStore`: held postings per tenant, or SQL."""

    def __init__(self, max_chunks: int) -> None:
        self.cache = KeywordCache(max_chunks, clock=time.perf_counter)
        self._guard = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}

    def search(
        self, conn: Any, tenant: str, terms: Sequence[str], k: int, filters: Filters | None, params: BM25Params
    ) -> list[ScoredChunk]:
        """The top ``k`` chunks of ``tenant`` for distinct analysed ``terms`` on autocommit connection ``conn``."""
        row = conn.execute(_HEAD_SQL, (list(terms), tenant)).fetchone()
        if row is None or row[1] <= 0:
            return []
        version, n_chunks, n_terms, hashes = int(row[0]), int(row[1]), int(row[2]), [int(h) for h in row[3]]
        with self._lock(tenant):
            entry = self.cache.get(
                tenant,
                params,
                TenantHead(version, n_chunks),
                lambda: load_postgres(conn, tenant, params),
                lambda held: refresh_postgres(conn, tenant, held),
            )
            allowed = None
            if entry is not None and filters:
                allowed = self.cache.mask(entry, filters, lambda: passing_docs(conn, tenant, filters))
        if entry is not None:
            return entry.search(hashes, k, allowed)
        started = time.perf_counter()
        hits = sql_search(conn, tenant, terms, k, filters, params, n_chunks=n_chunks, n_terms=n_terms)
        with self._guard:
            self.cache.charge(tenant, time.perf_counter() - started)
        return hits

    def _lock(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._tenant_locks.setdefault(tenant, threading.Lock())


def sql_search(
    conn: Any,
    tenant: str,
    terms: Sequence[str],
    k: int,
    filters: Filters | None,
    params: BM25Params,
    *,
    n_chunks: int,
    n_terms: int,
) -> list[ScoredChunk]:
    """BM25 summed in SQL over the tenant's postings (IDF from ``n_chunks`` and each term's document frequency)."""
    df = document_frequencies(conn, tenant, terms)
    present = [t for t in terms if df.get(t)]
    if not present:
        return []
    sql, filter_params = bm25_query(
        k1=params.k1, b=params.b, avgdl=n_terms / n_chunks, context_weight=params.context_weight, filters=filters
    )
    idfs = [bm25_idf(n_chunks, df[t]) for t in present]
    rows = conn.execute(sql, (present, idfs, tenant, *filter_params, k)).fetchall()
    return [ScoredChunk(cid, float(score)) for cid, score in rows]


def document_frequencies(conn: Any, tenant: str, terms: Sequence[str]) -> dict[str, int]:
    """How many of the tenant's chunks hold each term (a range scan of the postings key per term)."""
    rows = conn.execute(
        "SELECT term, COUNT(*) FROM postings WHERE tenant = %s AND term = ANY(%s::text[]) GROUP BY term",
        (tenant, list(dict.fromkeys(terms))),
    )
    return {t: int(n) for t, n in rows}


def passing_docs(conn: Any, tenant: str, filters: Filters) -> set[str]:
    """The tenant's documents that pass ``filters`` (the SQL path's conditions)."""
    where, params = filter_sql(filters)
    rows = conn.execute(f"SELECT d.doc_id FROM documents d WHERE d.tenant = %s{where}", (tenant, *params))
    return {r[0] for r in rows}


def load_postgres(conn: Any, tenant: str, params: BM25Params) -> KeywordEntry | None:
    """Read the tenant's totals, chunk rows and postings in one snapshot (None: no chunks)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = conn.execute("SELECT version, n_chunks, n_terms FROM tenants WHERE tenant = %s", (tenant,)).fetchone()
        if head is None or head[1] <= 0:
            return None
        chunks = _chunk_rows(
            conn.execute("SELECT id, chunk_id, doc_id FROM chunks WHERE tenant = %s ORDER BY id", (tenant,))
        )
        columns = _read_postings(conn, tenant, chunks.rowids)
    version, n_chunks, n_terms = (int(x) for x in head)
    return build_entry(version, params, n_chunks=n_chunks, n_terms=n_terms, chunks=chunks, postings=_by_term(columns))


def refresh_postgres(conn: Any, tenant: str, entry: KeywordEntry) -> KeywordEntry | None:
    """``entry`` brought to the tenant's current version from the change log, the added chunks and their postings,
    read in one snapshot; None when the log does not hold every version since ``entry``'s (then reload)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = conn.execute("SELECT version, n_chunks, n_terms FROM tenants WHERE tenant = %s", (tenant,)).fetchone()
        if head is None or head[1] <= 0:
            return None
        version = int(head[0])
        log = conn.execute(_CHANGES_SQL, (tenant, entry.version, version)).fetchall()
        if [int(r[0]) for r in log] != list(range(entry.version + 1, version + 1)):
            return None
        ranges = ([int(r[1]) for r in log if r[1] is not None], [int(r[2]) for r in log if r[1] is not None])
        removed = np.array([i for r in log for i in r[3]], dtype=np.int64)
        chunks = _chunk_rows(conn.execute(_ADDED_CHUNKS_SQL, (*ranges, tenant)) if ranges[0] else [])
        row = conn.execute(_ADDED_POSTINGS_SQL, (*ranges, tenant), binary=True).fetchone() if ranges[0] else None
    postings = _by_term(_unpack(row) if row is not None and row[0] is not None else None)
    return refreshed(entry, Changes(version, int(head[1]), int(head[2]), removed, chunks, postings))


def _chunk_rows(rows: Any) -> ChunkRows:
    listed = list(rows)
    return ChunkRows(
        rowids=np.fromiter((r[0] for r in listed), dtype=np.int64, count=len(listed)),
        chunk_ids=[r[1] for r in listed],
        doc_ids=[r[2] for r in listed],
    )


Columns = tuple[Ints, Ints, Ints, Ints, Ints]
"""Postings as columns: term hash, chunk rowid, tf, tf_context, dl."""


def _by_term(columns: Columns | None) -> Postings:
    """Postings in chunk order, grouped by term hash: a stable sort by hash makes them (term, chunk) ordered, and a
    term's postings one run of equal hashes."""
    if columns is None or len(columns[0]) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Postings([], empty, empty, empty, empty, empty)
    hashes, chunk, tf, tf_context, dl = columns
    order = np.argsort(hashes, kind="stable")
    hashes = hashes[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    counts = np.diff(np.r_[starts, len(hashes)]).astype(np.int64)
    return Postings(hashes[starts].tolist(), counts, chunk[order], tf[order], tf_context[order], dl[order])


def _unpack(row: Sequence[bytes]) -> Columns:
    """One packed row of :data:`_PACKED` as numpy columns."""
    arrays = [
        np.frombuffer(blob, dtype=kind).astype(kind[1:]) for blob, (_, _, kind) in zip(row, _COLUMNS, strict=True)
    ]
    if len({len(a) for a in arrays}) != 1:
        raise StoreError("PostgreSQL returned postings columns of different lengths")
    hashes, chunk, tf, tf_context, dl = arrays
    return hashes, chunk, tf, tf_context, dl


def _read_postings(conn: Any, tenant: str, rowids: npt.NDArray[np.int64]) -> Columns | None:
    """The tenant's postings as columns in chunk order, read in slices of :data:`_BATCH` chunks, each column of a
    slice one ``bytea`` of fixed-width values packed by the server. (A binary ``COPY`` sends one message per row,
    which psycopg hands over one at a time: several times slower at 11.9 M postings.)"""
    parts: list[Columns] = []
    for start in range(0, len(rowids), _BATCH):
        lo, hi = int(rowids[start]), int(rowids[min(start + _BATCH, len(rowids)) - 1])
        row = conn.execute(_POSTINGS_SQL, (tenant, lo, hi), binary=True).fetchone()
        if row[0] is not None:
            parts.append(_unpack(row))
    if not parts:
        return None
    hashes, chunk, tf, tf_context, dl = (np.concatenate([p[i] for p in parts]) for i in range(len(_COLUMNS)))
    return hashes, chunk, tf, tf_context, dl
