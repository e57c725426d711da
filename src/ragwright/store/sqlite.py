"""The embedded store: one SQLite file in WAL mode.

Layout: ``documents`` and ``chunks`` tables; one postings table per tenant (term, chunk, term frequency, chunk
length) from which BM25 is computed (from a copy in memory, or in SQL for tenants too large to hold), so statistics
never mix tenants (docs/adr/0001 says why this is not FTS5's bm25()); and one sqlite-vec ``vec0`` table partitioned by
tenant for the vectors. A document and all of its rows are replaced in a single transaction, so a crash at any point
leaves the previous state intact and the next ingest completes the work.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sqlean as sqlite3
import sqlite_vec

from ragwright.answering.injection import InjectionKind
from ragwright.documents.model import Chunk, Document, Original, source_map_from_json, spans_from_json
from ragwright.errors import StoreError
from ragwright.private_files import private_file
from ragwright.retrieval.analysis import query_terms
from ragwright.sqlite_migrations import migrate
from ragwright.store import sql
from ragwright.store.base import DocumentInfo, Filters, ScoredChunk, StoredChunk, StoredOriginal, StoreStats
from ragwright.store.dense_cache import DenseCache
from ragwright.store.keyword_cache import BM25Params, KeywordCache
from ragwright.store.migrations import INDEX
from ragwright.store.sql import (
    batches,
    bm25_search,
    check_tenant,
    check_upsert,
    db_errors,
    document_rows,
    filter_sql,
)
from ragwright.store.sqlite_vectors import ann_search, exact_search, to_chunk_ids, vectors_for_rowids
from ragwright.store.sqlite_write import create_keyword_table, create_vector_table, delete_document, insert_document

# Above this many filter-matching chunks, vector search over-fetches from the ANN table and filters afterwards instead
# of scoring the matching chunks exactly.
_EXACT_FILTER_LIMIT = 50_000
_VEC_MAX_K = 4096
_IMMUTABLE_META = frozenset({"embedding_model", "embedding_dim"})


class SQLiteStore:
    """`Store` over one SQLite file.

    Example::

        store = SQLiteStore(Path(".ragwright/index.sqlite"))
        store.bind_embedder("all-MiniLM-L6-v2-int8@256", 384)
        store.upsert("acme", doc, chunks, vectors)
        hits = store.keyword_search("acme", "how do I rotate keys", k=10)
    """

    def __init__(
        self,
        path: Path | str,
        *,
        timeout_s: float = 30.0,
        bm25_k1: float = 0.9,
        bm25_b: float = 0.4,
        context_weight: float = 1.0,
        dense_cache_max: int = 500_000,
        keyword_cache_max: int = 500_000,
    ) -> None:
        self.path = Path(path)
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.context_weight = context_weight
        self.dense_cache_max = dense_cache_max
        self._dense = DenseCache(dense_cache_max)
        self._keywords = KeywordCache(keyword_cache_max)
        if str(path) != ":memory:":
            private_file(self.path)  # document text: 0600 in a 0700 directory when ragwright creates them
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
            self._db.enable_load_extension(True)
            sqlite_vec.load(self._db)
            self._db.enable_load_extension(False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            migrate(self._db, INDEX, where=self.path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open index {self.path}: {exc}") from exc
        self._kw_tables: dict[str, str] = dict(self._db.execute("SELECT tenant, kw_table FROM tenants").fetchall())
        self._meta_seen: dict[str, str] = {}

    # -- embedding model binding -------------------------------------------------------------------------------

    @property
    def embedding_model(self) -> str | None:
        return self._meta("embedding_model")

    @property
    def embedding_dim(self) -> int | None:
        dim = self._meta("embedding_dim")
        return int(dim) if dim is not None else None

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record which embedder this index uses; refuse to mix vectors of another model or size."""
        with self._lock:
            current, current_dim = self.embedding_model, self.embedding_dim
            if current is None:
                with self._transaction():
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_model', ?)", (name,))
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_dim', ?)", (str(dim),))
                    create_vector_table(self._db, dim)
            elif current != name or current_dim != dim:
                raise StoreError(
                    f"this index was built with embedder {current} ({current_dim} dims), not {name} ({dim} dims); "
                    "use a new --data-dir or delete the index to switch models"
                )

    # -- writes --------------------------------------------------------------------------------------------------

    def upsert(self, tenant: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]) -> None:
        check_upsert(tenant, doc.doc_id, len(chunks), vectors, self.embedding_dim)
        with self._lock, self._transaction():
            kw = self._kw_tables.get(tenant) or self._create_kw_table(tenant)
            delete_document(self._db, tenant, doc.doc_id, kw)
            insert_document(self._db, tenant, kw, doc, chunks, vectors)

    def delete(self, tenant: str, doc_id: str) -> bool:
        check_tenant(tenant)
        with self._lock, self._transaction():
            return delete_document(self._db, tenant, doc_id, self._kw_tables.get(tenant))

    # -- reads ---------------------------------------------------------------------------------------------------

    @db_errors
    def keyword_search(self, tenant: str, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """BM25 over the tenant's own statistics: Lucene's non-negative IDF, ``k1``/``b`` from the constructor.

        Scored from the tenant's postings held in memory (:mod:`ragwright.store.keyword_cache`), or in SQL when the
        tenant is larger than ``keyword_cache_max`` chunks or changed and has not yet earned a reload; both paths give
        the same scores and order."""
        check_tenant(tenant)
        terms = query_terms(query)
        table = self._kw_tables.get(tenant) or self._known_kw_table(tenant)
        if not terms or table is None or k <= 0:
            return []
        with self._lock:
            entry = self._keywords.get(
                self._db, tenant, table, BM25Params(self.bm25_k1, self.bm25_b, self.context_weight)
            )
            if entry is None:
                started = time.thread_time()
                rows = bm25_search(
                    self._db,
                    table,
                    tenant,
                    terms,
                    k,
                    k1=self.bm25_k1,
                    b=self.bm25_b,
                    context_weight=self.context_weight,
                    filters=filters,
                )
                self._keywords.charge(tenant, time.thread_time() - started)
                return [ScoredChunk(cid, sc) for cid, sc in rows]
            allowed = self._keywords.mask(self._db, tenant, entry, filters) if filters else None
        return entry.search(terms, k, allowed)

    def vector_search(
        self, tenant: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[ScoredChunk]:
        check_tenant(tenant)
        if k <= 0 or self.embedding_dim is None:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.embedding_dim:
            raise StoreError(f"query vector has {query.shape[0]} dims, index has {self.embedding_dim}")
        with self._lock:
            if filters:
                where, params = filter_sql(filters)
                allowed = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT c.id FROM chunks c JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id"
                        f" WHERE c.tenant = ?{where} LIMIT ?",
                        (tenant, *params, _EXACT_FILTER_LIMIT + 1),
                    )
                ]
                if len(allowed) <= _EXACT_FILTER_LIMIT:
                    return exact_search(self._db, self._dense, tenant, query, allowed, k, self.embedding_dim)
                scored = ann_search(self._db, tenant, query, min(_VEC_MAX_K, k * 20))
                keep = set(allowed)
                return to_chunk_ids(self._db, tenant, [(r, s) for r, s in scored if r in keep][:k])
            cached = self._dense.get(self._db, tenant, self.embedding_dim)
            if cached is not None:
                top, scores = cached.top(query, k)
                names = cached.chunk_ids
                return [
                    ScoredChunk(names[i], s) for i, s in zip(top.tolist(), scores.tolist(), strict=True) if names[i]
                ]
            return to_chunk_ids(self._db, tenant, ann_search(self._db, tenant, query, min(k, _VEC_MAX_K)))

    @db_errors
    def get(self, tenant: str, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        check_tenant(tenant)
        found: dict[str, StoredChunk] = {}
        with self._lock:
            for batch in batches(list(dict.fromkeys(chunk_ids)), 500):
                marks = ",".join("?" * len(batch))
                for row in self._db.execute(
                    "SELECT c.chunk_id, c.doc_id, c.ordinal, c.text, c.context, c.char_start, c.char_end,"
                    " c.heading_path, c.page, c.n_tokens, d.source, d.title, d.file_type, d.tags, c.injection,"
                    " c.source_spans"
                    " FROM chunks c JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id"
                    f" WHERE c.tenant = ? AND c.chunk_id IN ({marks})",
                    (tenant, *batch),
                ):
                    chunk = Chunk(
                        id=row[0],
                        doc_id=row[1],
                        ordinal=row[2],
                        text=row[3],
                        context=row[4],
                        char_start=row[5],
                        char_end=row[6],
                        heading_path=tuple(json.loads(row[7])),
                        page=row[8],
                        n_tokens=row[9],
                        source_spans=spans_from_json(row[15]),
                    )
                    found[row[0]] = StoredChunk(
                        chunk=chunk,
                        doc_path=row[1],
                        doc_title=row[11],
                        file_type=row[12],
                        tags=tuple(json.loads(row[13])),
                        injection=InjectionKind(row[14]) if row[14] else None,
                    )
        return [found[c] for c in chunk_ids if c in found]

    @db_errors
    def get_vectors(self, tenant: str, chunk_ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        check_tenant(tenant)
        with self._lock:
            cached = self._dense.current(self._db, tenant)
            if cached is not None:  # the current in-memory matrix names its rows: no SQL
                rows = cached.rows
                return {c: cached.matrix[rows[c]] for c in dict.fromkeys(chunk_ids) if c in rows}
            rowid_of: dict[int, str] = {}
            for batch in batches(list(dict.fromkeys(chunk_ids)), 500):
                marks = ",".join("?" * len(batch))
                rowid_of.update(
                    self._db.execute(
                        f"SELECT id, chunk_id FROM chunks WHERE tenant = ? AND chunk_id IN ({marks})", (tenant, *batch)
                    )
                )
            if not rowid_of or self.embedding_dim is None:
                return {}
            ids, matrix = vectors_for_rowids(self._db, self._dense, tenant, list(rowid_of), self.embedding_dim)
        return {rowid_of[r]: matrix[i] for i, r in enumerate(ids)}

    @db_errors
    def vectors_by_text_hash(self, tenant: str, text_hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        check_tenant(tenant)
        with self._lock:
            rowid_of: dict[int, str] = {}
            for batch in batches(list(dict.fromkeys(text_hashes)), 500):
                marks = ",".join("?" * len(batch))
                for rowid, h in self._db.execute(
                    f"SELECT MIN(id), text_hash FROM chunks WHERE tenant = ? AND text_hash IN ({marks})"
                    " GROUP BY text_hash",
                    (tenant, *batch),
                ):
                    rowid_of[rowid] = h
            if not rowid_of or self.embedding_dim is None:
                return {}
            ids, matrix = vectors_for_rowids(self._db, self._dense, tenant, list(rowid_of), self.embedding_dim)
        return {rowid_of[r]: matrix[i].copy() for i, r in enumerate(ids)}

    @db_errors
    def documents(
        self, tenant: str, *, after: str | None = None, limit: int | None = None, tags: tuple[str, ...] = ()
    ) -> list[DocumentInfo]:
        check_tenant(tenant)
        with self._lock:
            return document_rows(self._db, tenant, after=after, limit=limit, tags=tags)

    @db_errors
    def document(self, tenant: str, doc_id: str) -> DocumentInfo | None:
        check_tenant(tenant)
        with self._lock:
            return sql.document_row(self._db, tenant, doc_id)

    @db_errors
    def original(self, tenant: str, doc_id: str) -> StoredOriginal | None:
        check_tenant(tenant)
        with self._lock:
            row = self._db.execute(
                "SELECT media_type, data, source_map FROM document_originals WHERE tenant = ? AND doc_id = ?",
                (tenant, doc_id),
            ).fetchone()
        if row is None:
            return None
        return StoredOriginal(Original(row[0], bytes(row[1])), source_map_from_json(row[2]))

    @db_errors
    def stats(self, tenant: str) -> StoreStats:
        check_tenant(tenant)
        with self._lock:
            by_type = dict(
                self._db.execute(
                    "SELECT file_type, COUNT(*) FROM documents WHERE tenant = ? GROUP BY file_type", (tenant,)
                ).fetchall()
            )
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks WHERE tenant = ?", (tenant,)).fetchone()[0]
        return StoreStats(
            documents=sum(by_type.values()),
            chunks=int(chunks),
            embedding_model=self.embedding_model,
            by_file_type=by_type,
        )

    @db_errors
    def term_idf(self, tenant: str, terms: Sequence[str]) -> dict[str, float]:
        check_tenant(tenant)
        table = self._kw_tables.get(tenant) or self._known_kw_table(tenant)
        if table is None or not terms:
            return {}
        with self._lock:
            row = self._db.execute("SELECT n_chunks FROM tenants WHERE tenant = ?", (tenant,)).fetchone()
            if row is None or row[0] <= 0:
                return {}
            df = {
                t: self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE term = ?", (t,)).fetchone()[0] for t in terms
            }
        return {t: sql.bm25_idf(int(row[0]), int(n)) for t, n in df.items()}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        """A meta value. The embedding binding never changes once written, so a found value is kept in memory
        (this is read on every vector search)."""
        cached = self._meta_seen.get(key)
        if cached is not None:
            return cached
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None and key in _IMMUTABLE_META:
            self._meta_seen[key] = row[0]
        return row[0] if row else None

    def _known_kw_table(self, tenant: str) -> str | None:
        """A tenant another process created after this store opened: look it up once and remember it."""
        with self._lock:
            row = self._db.execute("SELECT kw_table FROM tenants WHERE tenant = ?", (tenant,)).fetchone()
        if row is not None:
            self._kw_tables[tenant] = row[0]
        return row[0] if row else None

    def _create_kw_table(self, tenant: str) -> str:
        name = create_keyword_table(self._db, tenant)
        self._kw_tables[tenant] = name
        return name

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise sql.write_error(exc, f"cannot write to {self.path}") from exc
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._kw_tables = dict(self._db.execute("SELECT tenant, kw_table FROM tenants").fetchall())
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise sql.write_error(exc, f"write to {self.path} failed and was rolled back") from exc
            raise
