"""A tenant's BM25 postings held in memory, refreshed or reloaded after the tenant's version changes (see KeywordCache).

Scoring BM25 in SQL over the postings table (docs/adr/0001) costs a few milliseconds a query at SciFact's size on
SQLite, and seconds at 200,000 chunks on PostgreSQL (docs/adr/0012). Here the same postings are read once into CSR
arrays (per term, the rows holding it and their term frequency with the context weight applied), and a query is a
gather, the BM25 weight of each gathered posting, and one ``bincount``. Weights are computed at query time from the
entry's statistics (N, each term's document frequency, each row's length normalisation against avgdl) in float64
with the same operations, in the same order, as the SQL expressions (:func:`ragwright.store.sql.bm25_sql`,
:func:`ragwright.store.postgres_sql.bm25_query`), so scores agree with the SQL path to the last bits (the sum order
of a chunk's terms aside) and ties break the same way: higher score first, then lower chunk rowid. Weighting at query
time is what lets an entry take a write without re-reading everything: N, avgdl and document frequencies move with
every write, the postings of untouched chunks do not (:mod:`ragwright.store.keyword_refresh`). Above ``max_chunks`` a
tenant is not cached and the store falls back to SQL, to bound memory.

Both stores use this module: the cache logic and :func:`build_entry` are shared; each store reads its postings its
own way (:func:`load_sqlite` here, :mod:`ragwright.store.postgres_keywords` for PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.store.base import Filters, ScoredChunk
from ragwright.store.sql import bm25_idf, filter_sql

Ints = npt.NDArray[np.integer[Any]]
"""Integer columns of postings (int64 or int32)."""

_MAX_MASKS = 64  # filter masks remembered per tenant version


@dataclass(frozen=True, slots=True)
class BM25Params:
    """The BM25 parameters a cached entry was weighted with."""

    k1: float
    b: float
    context_weight: float


@dataclass(frozen=True, slots=True)
class Segment:
    """Postings grouped by term: ``spans[term] = (start, end)`` into :attr:`rows` (the entry's row numbers, ascending
    within a term) and :attr:`tf` (term frequency with title/heading occurrences counted ``context_weight`` times)."""

    spans: dict[Hashable, tuple[int, int]]
    rows: npt.NDArray[np.int32]
    tf: npt.NDArray[np.float64]


@dataclass(slots=True)
class KeywordEntry:
    """One tenant's postings in memory with the BM25 statistics of a store version.

    Rows are the tenant's chunks in rowid order (the SQL tie-break order); a refresh appends the rows written since
    (higher rowids) as a new :class:`Segment` and marks removed rows :attr:`dead` (their postings stay in memory but
    count nowhere: not in document frequencies, not in results)."""

    version: int
    params: BM25Params
    n_chunks: int
    """BM25's N: the tenant's live chunks."""
    avgdl: float
    rowids: npt.NDArray[np.int64]
    chunk_ids: list[str]
    doc_of_row: npt.NDArray[np.int32]
    doc_ids: list[str]
    """Document of each index of :attr:`doc_of_row` (a name may repeat after a refresh: filters test membership)."""
    dl: npt.NDArray[np.float64]
    """Each row's length in terms."""
    norm: npt.NDArray[np.float64]
    """Each row's ``k1 * ((1 - b) + (b / avgdl) * dl)``, the part of BM25's denominator fixed per version."""
    segments: tuple[Segment, ...]
    dead: npt.NDArray[np.bool_] | None = None
    masks: dict[Filters, npt.NDArray[np.bool_]] = field(default_factory=dict)
    load_s: float = 0.0
    """Seconds the full load took."""
    stale_sql_s: float = 0.0
    """Seconds spent on the SQL path for this tenant since the entry went stale."""
    refreshable: bool = True
    """False once a refresh could not be applied (the change log had a gap): reload instead."""

    def search(
        self, terms: Sequence[Hashable], k: int, allowed: npt.NDArray[np.bool_] | None = None
    ) -> list[ScoredChunk]:
        """The top ``k`` rows for distinct analysed ``terms``, restricted to ``allowed`` rows when given."""
        gathered = self._postings(terms)
        if not gathered or k <= 0:
            return []
        rows = gathered[0][0] if len(gathered) == 1 else np.concatenate([r for r, _ in gathered])
        weights = gathered[0][1] if len(gathered) == 1 else np.concatenate([w for _, w in gathered])
        n = len(self.chunk_ids)
        scores = np.bincount(rows, weights=weights, minlength=n)
        hit: npt.NDArray[np.intp]
        if len(gathered) == 1:
            hit = rows.astype(np.intp)  # one term: each row appears once, already in rowid order
            if allowed is not None:
                hit = hit[allowed[hit]]
        else:
            touched = np.zeros(n, dtype=np.bool_)
            touched[rows] = True
            if allowed is not None:
                touched &= allowed
            hit = np.flatnonzero(touched)
        if len(hit) == 0:
            return []
        hit_scores = scores[hit]
        if len(hit) > k:  # keep everything scoring at least the k-th best, so ties at the cut break by rowid
            kth = np.partition(hit_scores, len(hit) - k)[len(hit) - k]
            keep = hit_scores >= kth
            hit, hit_scores = hit[keep], hit_scores[keep]
        order = np.lexsort((hit, -hit_scores))[:k]
        names = self.chunk_ids
        return [ScoredChunk(names[r], float(scores[r])) for r in hit[order].tolist()]

    def _postings(self, terms: Sequence[Hashable]) -> list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]]:
        """Per query term with live postings: its rows (ascending) and their BM25 weights, computed like bm25_sql:
        ``idf * tf * (k1 + 1) / (tf + k1 * ((1 - b) + (b / avgdl) * dl))``."""
        k1_plus_1 = self.params.k1 + 1.0
        out: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]] = []
        for term in terms:
            parts = [(seg, seg.spans[term]) for seg in self.segments if term in seg.spans]
            if not parts:
                continue
            rows = [seg.rows[s:e] for seg, (s, e) in parts]
            tfs = [seg.tf[s:e] for seg, (s, e) in parts]
            if len(parts) > 1:
                rows, tfs = [np.concatenate(rows)], [np.concatenate(tfs)]
            r, tf = rows[0], tfs[0]
            if self.dead is not None:
                live = ~self.dead[r]
                r, tf = r[live], tf[live]
            if len(r) == 0:
                continue
            weights = bm25_idf(self.n_chunks, len(r)) * tf
            weights *= k1_plus_1
            weights /= tf + self.norm[r]
            out.append((r, weights))
        return out


def row_norms(params: BM25Params, avgdl: float, dl: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each row's ``k1 * ((1 - b) + (b / avgdl) * dl)``, in bm25_sql's evaluation order."""
    result: npt.NDArray[np.float64] = params.k1 * ((1.0 - params.b) + (params.b / avgdl) * dl)
    return result


def effective_tf(params: BM25Params, tf: Ints, tf_context: Ints) -> npt.NDArray[np.float64]:
    """Term frequency with title/heading occurrences counted ``context_weight`` times (bm25_sql's ``tf``)."""
    boost = params.context_weight - 1.0
    result: npt.NDArray[np.float64] = tf.astype(np.float64) + boost * tf_context.astype(np.float64)
    return result


@dataclass(slots=True)
class CacheCounts:
    """What a :class:`KeywordCache` did since it was made (tests and benches read it)."""

    loads: int = 0
    """Full loads of a tenant's postings."""
    refreshes: int = 0
    """Stale entries brought to the current version from what changed (no full load)."""
    sql: int = 0
    """Searches the store scored in SQL (reported through :meth:`KeywordCache.charge`)."""


@dataclass(frozen=True, slots=True)
class TenantHead:
    """A tenant's version and size as the store reads them before a search (the cache's validity check)."""

    version: int
    n_chunks: int


class KeywordCache:
    """Per-tenant :class:`KeywordEntry` objects, for any store: the store reads the tenant's :class:`TenantHead` and
    hands over a loader; the cache decides whether the held entry is current, must be (re)loaded, or the store should
    score in SQL.

    When a tenant changes and the store can say what changed (PostgreSQL's change log), the entry is refreshed from
    that (:mod:`ragwright.store.keyword_refresh`). Otherwise it is not reloaded at once: searches take the SQL path
    until they have spent as much time there as the last load took (the ski-rental rule), measured with ``clock``
    (CPU time for SQLite, which works in this process; wall time for PostgreSQL, whose SQL path runs on the server).
    A tenant that changed once is
    reloaded after a few searches; one being ingested into while it is searched (a new version per document) costs at
    most about twice the SQL path instead of a full reload per document. Not thread-safe: callers serialise per store
    or per tenant.
    """

    def __init__(self, max_chunks: int, clock: Callable[[], float] = time.thread_time) -> None:
        self.max_chunks = max_chunks
        self.clock = clock
        self.counts = CacheCounts()
        self._entries: dict[str, KeywordEntry] = {}

    def get(
        self,
        tenant: str,
        params: BM25Params,
        head: TenantHead | None,
        load: Callable[[], KeywordEntry | None],
        refresh: Callable[[KeywordEntry], KeywordEntry | None] | None = None,
    ) -> KeywordEntry | None:
        """The tenant's current postings, or None when the caller should score in SQL: the tenant has no chunks, is
        too large to hold, or changed, could not be refreshed and has not yet earned a reload (report that SQL time
        with :meth:`charge`). ``load`` reads the tenant's postings in one snapshot (its entry may be newer than
        ``head``); ``refresh`` turns a stale entry into a current one from what changed since its version, or returns
        None when it cannot (then the entry is not offered for refresh again until a reload)."""
        if head is None or head.n_chunks <= 0 or head.n_chunks > self.max_chunks:
            self._entries.pop(tenant, None)
            return None
        entry = self._entries.get(tenant)
        if entry is not None and entry.params == params:
            if entry.version == head.version:
                return entry
            if refresh is not None and entry.refreshable:
                refreshed = refresh(entry)
                if refreshed is not None:
                    refreshed.load_s = entry.load_s
                    self._entries[tenant] = refreshed
                    self.counts.refreshes += 1
                    return refreshed
                entry.refreshable = False
            if entry.stale_sql_s < entry.load_s:
                return None
        started = self.clock()
        loaded = load()
        if loaded is None:
            self._entries.pop(tenant, None)
            return None
        loaded.load_s = self.clock() - started
        self._entries[tenant] = loaded
        self.counts.loads += 1
        return loaded

    def charge(self, tenant: str, seconds: float) -> None:
        """Count ``seconds`` of SQL-path search of ``tenant`` towards reloading its stale entry."""
        self.counts.sql += 1
        entry = self._entries.get(tenant)
        if entry is not None:
            entry.stale_sql_s += seconds

    def mask(
        self, entry: KeywordEntry, filters: Filters, passing_docs: Callable[[], set[str]]
    ) -> npt.NDArray[np.bool_]:
        """Rows whose document passes ``filters``; ``passing_docs`` returns the tenant's documents that pass them,
        decided by the store's own filter SQL (the same conditions as its SQL path)."""
        cached = entry.masks.get(filters)
        if cached is not None:
            return cached
        passing = passing_docs()
        doc_ok = np.fromiter((d in passing for d in entry.doc_ids), dtype=np.bool_, count=len(entry.doc_ids))
        mask = doc_ok[entry.doc_of_row]
        if len(entry.masks) >= _MAX_MASKS:
            entry.masks.clear()
        entry.masks[filters] = mask
        return mask


@dataclass(frozen=True, slots=True)
class ChunkRows:
    """A tenant's chunks in rowid order: rowids (ascending), chunk ids and document ids."""

    rowids: npt.NDArray[np.int64]
    chunk_ids: list[str]
    doc_ids: list[str]


@dataclass(frozen=True, slots=True)
class Postings:
    """Postings grouped by term: ``counts[i]`` postings of ``terms[i]`` (ascending ``rid`` within a term), then the
    next term's; per posting the chunk's rowid, tf, tf in the title/heading context and the chunk's length."""

    terms: Sequence[Hashable]
    counts: npt.NDArray[np.int64]
    rid: Ints
    tf: Ints
    tf_context: Ints
    dl: Ints


def build_entry(
    version: int, params: BM25Params, *, n_chunks: int, n_terms: int, chunks: ChunkRows, postings: Postings
) -> KeywordEntry:
    """A :class:`KeywordEntry` from the tenant's chunks and postings with BM25 statistics ``n_chunks``/``n_terms`` of
    the same snapshot. The one place where both stores turn postings into CSR arrays (a refresh adds a segment with
    the same code)."""
    rowids = chunks.rowids
    doc_names = list(dict.fromkeys(chunks.doc_ids))
    doc_index = {d: i for i, d in enumerate(doc_names)}
    doc_of_row = np.fromiter((doc_index[d] for d in chunks.doc_ids), dtype=np.int32, count=len(chunks.doc_ids))
    lengths = np.zeros(len(rowids), dtype=np.float64)
    seg = build_segment(params, rowids, lengths, postings)
    avgdl = n_terms / n_chunks
    return KeywordEntry(
        version=version,
        params=params,
        n_chunks=n_chunks,
        avgdl=avgdl,
        rowids=rowids,
        chunk_ids=chunks.chunk_ids,
        doc_of_row=doc_of_row,
        doc_ids=doc_names,
        dl=lengths,
        norm=row_norms(params, avgdl, lengths),
        segments=(seg,),
    )


def build_segment(
    params: BM25Params, rowids: npt.NDArray[np.int64], lengths: npt.NDArray[np.float64], postings: Postings
) -> Segment:
    """A :class:`Segment` of ``postings``, their chunks found among the entry's ``rowids``; writes each found
    chunk's length into ``lengths`` (by row)."""
    counts, rid, dl = postings.counts, postings.rid, postings.dl
    rows = np.searchsorted(rowids, rid)
    known = rows < len(rowids)
    known[known] = rowids[rows[known]] == rid[known]
    tf_eff = effective_tf(params, postings.tf, postings.tf_context)
    if not known.all():  # postings of a chunk row that is gone: the SQL path's join drops them too
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        counts = np.add.reduceat(known.astype(np.int64), starts) if len(counts) else counts
        rows, tf_eff, dl = rows[known], tf_eff[known], dl[known]
    lengths[rows] = dl
    ends = np.cumsum(counts).tolist()
    spans = {t: (end - int(c), end) for t, c, end in zip(postings.terms, counts.tolist(), ends, strict=True) if c}
    return Segment(spans, rows.astype(np.int32), tf_eff)


def sqlite_head(db: Any, tenant: str) -> TenantHead | None:
    """The tenant's version and size in a SQLite index."""
    row = db.execute("SELECT version, n_chunks FROM tenants WHERE tenant = ?", (tenant,)).fetchone()
    return TenantHead(int(row[0]), int(row[1])) if row is not None else None


def sqlite_passing_docs(db: Any, tenant: str, filters: Filters) -> set[str]:
    """The tenant's documents in a SQLite index that pass ``filters``."""
    where, params = filter_sql(filters)
    return {r[0] for r in db.execute(f"SELECT d.doc_id FROM documents d WHERE d.tenant = ?{where}", (tenant, *params))}


def load_sqlite(db: Any, tenant: str, table: str, params: BM25Params) -> KeywordEntry | None:
    """Read the tenant's chunks and postings from a SQLite index in one read transaction, so statistics and postings
    agree."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        head = db.execute("SELECT version, n_chunks, n_terms FROM tenants WHERE tenant = ?", (tenant,)).fetchone()
        if head is None or head[1] <= 0:
            return None
        version, n_chunks, n_terms = int(head[0]), int(head[1]), int(head[2])
        chunk_rows = db.execute(
            "SELECT id, chunk_id, doc_id FROM chunks WHERE tenant = ? ORDER BY id", (tenant,)
        ).fetchall()
        # One row per term with its postings concatenated: several times faster to read than one row per posting.
        # (each aggregate sees the group's rows in the same order, so the four lists line up).
        term_rows = db.execute(
            "SELECT term, COUNT(*), group_concat(rid), group_concat(tf), group_concat(tf_context), group_concat(dl)"
            f" FROM {table} GROUP BY term"
        ).fetchall()
    finally:
        if own:
            db.execute("COMMIT")
    chunks = ChunkRows(
        rowids=np.fromiter((r[0] for r in chunk_rows), dtype=np.int64, count=len(chunk_rows)),
        chunk_ids=[r[1] for r in chunk_rows],
        doc_ids=[r[2] for r in chunk_rows],
    )
    counts = np.fromiter((r[1] for r in term_rows), dtype=np.int64, count=len(term_rows))
    columns = [np.fromstring(",".join([r[i] for r in term_rows]), dtype=np.int64, sep=",") for i in range(2, 6)]
    terms = [r[0] for r in term_rows]
    return build_entry(
        version, params, n_chunks=n_chunks, n_terms=n_terms, chunks=chunks, postings=Postings(terms, counts, *columns)
    )
