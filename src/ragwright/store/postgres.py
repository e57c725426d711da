"""The PostgreSQL store: the `Store` Protocol over psycopg 3 with a connection pool and pgvector.

Layout (:mod:`ragwright.store.postgres_schema`): ``documents``, ``chunks`` (with an ``embedding vector(dim)`` column),
``postings`` and ``tenants``, every one carrying the tenant and every query restricted by it. BM25 uses the tenant's
own postings and totals with the same formula, analyzer and weights as the SQLite store (ADR 0001, ADR 0006), scored
from the postings held in this process, checked against the tenant's version on every query and refreshed from the
tenant's change log after writes, or in SQL (:mod:`ragwright.store.postgres_keywords`, ADR 0012). Dense search is
exact cosine (``ORDER BY embedding <=> q``) for a small tenant and goes through the tenant's own HNSW index from
``[postgres] hnsw_min_chunks`` on (:mod:`ragwright.store.postgres_vectors`), with the filters in the same ``WHERE``.
A document and all its rows are replaced in one transaction.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from ragwright.config import PostgresSettings
from ragwright.documents.model import Chunk, Document, Original, source_map_from_json
from ragwright.errors import DiskFull, StoreError
from ragwright.retrieval.analysis import query_terms
from ragwright.store.base import DocumentInfo, Filters, ScoredChunk, StoredChunk, StoredOriginal, StoreStats
from ragwright.store.keyword_cache import BM25Params
from ragwright.store.postgres_bulk import Batch, copy_documents
from ragwright.store.postgres_keywords import PostgresKeywords, document_frequencies
from ragwright.store.postgres_prewarm import PrewarmReport, prewarm, prewarm_on_open
from ragwright.store.postgres_schema import PG_INDEX, VECTORS_INLINE, migrate_postgres
from ragwright.store.postgres_sql import DOCUMENT_COLUMNS, document_info, document_rows
from ragwright.store.postgres_vectors import DenseSearch
from ragwright.store.postgres_write import add_to_totals, delete_document, insert_document, lock_tenant
from ragwright.store.sql import CHUNK_SELECT, bm25_idf, check_tenant, check_upsert, stored_chunk

F = TypeVar("F", bound=Callable[..., Any])
_IMMUTABLE_META = frozenset({"embedding_model", "embedding_dim"})
_DISK_FULL = "53100"


def _pg_errors(method: F) -> F:
    """Translate psycopg failures into StoreError (DiskFull when the server is out of space)."""

    @functools.wraps(method)
    def wrapper(self: PostgresStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise self._error(exc, f"PostgreSQL store {self.where} failed") from exc

    return wrapper  # type: ignore[return-value]


def _array(vec: Any) -> npt.NDArray[np.float32]:
    """A vector column's value (pgvector's ``Vector`` in binary mode) as a float32 array."""
    return np.asarray(vec.to_numpy() if hasattr(vec, "to_numpy") else vec, dtype=np.float32)


class PostgresStore:
    """`Store` over a PostgreSQL database with pgvector.

    Example::

        store = PostgresStore("postgresql://rag@db.internal/ragwright")
        store.bind_embedder("all-MiniLM-L6-v2-int8@256", 384)
        store.upsert("acme", doc, chunks, vectors)
        hits = store.keyword_search("acme", "how do I rotate keys", k=10)
    """

    def __init__(
        self,
        dsn: str,
        *,
        bm25_k1: float = 0.9,
        bm25_b: float = 0.4,
        context_weight: float = 1.0,
        pool_min: int = 1,
        pool_max: int | None = None,
        timeout_s: float = 30.0,
        settings: PostgresSettings | None = None,
    ) -> None:
        self.settings = settings or PostgresSettings()
        self.dense = DenseSearch(self.settings)
        """Exact or HNSW dense search per tenant (:mod:`ragwright.store.postgres_vectors`)."""
        self.keywords = PostgresKeywords(self.settings.keyword_cache_max)
        """BM25 from per-tenant postings held in memory, or SQL (:mod:`ragwright.store.postgres_keywords`)."""
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.context_weight = context_weight
        info = conninfo_to_dict(dsn)
        self.where = f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        """The server and database, for messages (never the password)."""
        self._meta_seen: dict[str, str] = {}
        self._lock = threading.Lock()
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=int(timeout_s)) as conn:
                migrate_postgres(conn, PG_INDEX, where=self.where)
            self._pool = ConnectionPool(
                dsn,
                min_size=pool_min,
                max_size=pool_max or self.settings.pool_max,
                kwargs={"autocommit": True},
                configure=register_vector,
                timeout=timeout_s,
                open=True,
                name="ragwright-store",
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot open PostgreSQL store {self.where}: {exc}") from exc
        if self.settings.prewarm:
            with self._pool.connection() as conn:
                prewarm_on_open(conn, self.where)

    # -- embedding model binding -------------------------------------------------------------------------------

    @property
    def embedding_model(self) -> str | None:
        return self._meta("embedding_model")

    @property
    def embedding_dim(self) -> int | None:
        dim = self._meta("embedding_dim")
        return int(dim) if dim is not None else None

    @_pg_errors
    def bind_embedder(self, name: str, dim: int) -> None:
        """Record which embedder this index uses; refuse to mix vectors of another model or size."""
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('ragwright.bind_embedder'))")
            rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('embedding_model', 'embedding_dim')"))
            if not rows:
                conn.execute("INSERT INTO meta VALUES ('embedding_model', %s), ('embedding_dim', %s)", (name, str(dim)))
                conn.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(dim)})")
                conn.execute(VECTORS_INLINE)  # the type change reset the storage to pgvector's default (TOAST)
                return
        current, current_dim = rows.get("embedding_model"), rows.get("embedding_dim")
        if current != name or current_dim != str(dim):
            raise StoreError(
                f"this index was built with embedder {current} ({current_dim} dims), not {name} ({dim} dims); "
                "use a new database or schema to switch models"
            )

    # -- writes --------------------------------------------------------------------------------------------------

    def upsert(self, tenant: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]) -> None:
        check_upsert(tenant, doc.doc_id, len(chunks), vectors, self.embedding_dim)
        with self._transaction() as conn:
            lock_tenant(conn, tenant)
            delete_document(conn, tenant, doc.doc_id)
            insert_document(conn, tenant, doc, chunks, vectors)
        self.build_vector_index(tenant, when_due=True)

    def bulk_load(
        self,
        tenant: str,
        documents: Iterable[tuple[Document, Sequence[Chunk], npt.NDArray[np.float32]]],
        *,
        batch_documents: int = 500,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Write *new* documents by binary COPY, ``batch_documents`` per transaction, then build the tenant's HNSW
        index if it is due (:mod:`ragwright.store.postgres_bulk`); return the number of chunks written.
        ``on_batch`` is called with the running total after each batch (progress)."""
        written = 0
        batch: list[tuple[Document, Sequence[Chunk], npt.NDArray[np.float32]]] = []
        for item in documents:
            check_upsert(tenant, item[0].doc_id, len(item[1]), item[2], self.embedding_dim)
            batch.append(item)
            if len(batch) >= batch_documents:
                written += self._copy_batch(tenant, batch)
                batch = []
                if on_batch is not None:
                    on_batch(written)
        if batch:
            written += self._copy_batch(tenant, batch)
            if on_batch is not None:
                on_batch(written)
        self.build_vector_index(tenant, when_due=True)
        return written

    def _copy_batch(self, tenant: str, batch: Batch) -> int:
        with self._transaction() as conn:
            lock_tenant(conn, tenant)
            return copy_documents(conn, tenant, batch)

    @_pg_errors
    def build_vector_index(self, tenant: str, *, when_due: bool = False) -> bool:
        """Build the tenant's HNSW index now (``when_due``: only once it holds ``hnsw_min_chunks`` chunks); return
        whether this call built it. Writes and exact searches go on while it is built."""
        check_tenant(tenant)
        if when_due:
            return self.dense.maybe_build(self._pool.connection, tenant)
        with self._pool.connection() as conn:
            return self.dense.build(conn, tenant)

    def delete(self, tenant: str, doc_id: str) -> bool:
        check_tenant(tenant)
        with self._transaction() as conn:
            lock_tenant(conn, tenant)
            return delete_document(conn, tenant, doc_id)

    # -- reads ---------------------------------------------------------------------------------------------------

    @_pg_errors
    def keyword_search(self, tenant: str, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """BM25 over the tenant's own statistics: Lucene's non-negative IDF, ``k1``/``b`` from the constructor.

        Scored from the tenant's postings held in this process (loaded on first use, refreshed from the change log
        when the tenant's version in the database moved on), or in SQL while the tenant is larger than ``[postgres]
        keyword_cache_max`` or changed in a way the log cannot replay and has not yet earned a reload
        (:mod:`ragwright.store.postgres_keywords`); both paths give the same scores and order."""
        check_tenant(tenant)
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        params = BM25Params(self.bm25_k1, self.bm25_b, self.context_weight)
        with self._pool.connection() as conn:
            return self.keywords.search(conn, tenant, terms, k, filters, params)

    @_pg_errors
    def vector_search(
        self, tenant: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[ScoredChunk]:
        """Cosine similarity over the tenant's chunks that pass ``filters``: exact, or through the tenant's HNSW index
        once it has one (:mod:`ragwright.store.postgres_vectors`)."""
        check_tenant(tenant)
        dim = self.embedding_dim
        if k <= 0 or dim is None:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != dim:
            raise StoreError(f"query vector has {query.shape[0]} dims, index has {dim}")
        with self._pool.connection() as conn:
            rows = self.dense.search(conn, tenant, query, k, filters)
        return [ScoredChunk(cid, float(score)) for cid, score in rows]

    @_pg_errors
    def get(self, tenant: str, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"{CHUNK_SELECT} WHERE c.tenant = %s AND c.chunk_id = ANY(%s::text[])",
                (tenant, list(dict.fromkeys(chunk_ids))),
            ).fetchall()
        found = {row[0]: stored_chunk(row, tuple) for row in rows}
        return [found[c] for c in chunk_ids if c in found]

    @_pg_errors
    def chunks(self, tenant: str, doc_id: str) -> list[StoredChunk]:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"{CHUNK_SELECT} WHERE c.tenant = %s AND c.doc_id = %s ORDER BY c.ordinal", (tenant, doc_id)
            ).fetchall()
        return [stored_chunk(r, tuple) for r in rows]

    def set_tags(self, tenant: str, doc_id: str, tags: tuple[str, ...]) -> bool:
        check_tenant(tenant)
        with self._transaction() as conn:
            lock_tenant(conn, tenant)
            cur = conn.execute(
                "UPDATE documents SET tags = %s WHERE tenant = %s AND doc_id = %s",
                (list(dict.fromkeys(tags)), tenant, doc_id),
            )
            if cur.rowcount == 0:
                return False
            add_to_totals(conn, tenant, 0, 0)  # a new version (filters change), no postings changed
            return True

    @_pg_errors
    def get_vectors(self, tenant: str, chunk_ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT chunk_id, embedding FROM chunks WHERE tenant = %s AND chunk_id = ANY(%s::text[])",
                (tenant, list(dict.fromkeys(chunk_ids))),
                binary=True,  # vectors as float32 bytes: 10x faster to read than their text form (100 vectors)
            ).fetchall()
        return {cid: _array(vec) for cid, vec in rows}

    @_pg_errors
    def vectors_by_text_hash(self, tenant: str, text_hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (text_hash) text_hash, embedding FROM chunks"
                " WHERE tenant = %s AND text_hash = ANY(%s::text[]) ORDER BY text_hash, id",
                (tenant, list(dict.fromkeys(text_hashes))),
                binary=True,
            ).fetchall()
        return {h: _array(vec) for h, vec in rows}

    @_pg_errors
    def documents(
        self, tenant: str, *, after: str | None = None, limit: int | None = None, tags: tuple[str, ...] = ()
    ) -> list[DocumentInfo]:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            return document_rows(conn, tenant, after=after, limit=limit, tags=tags)

    @_pg_errors
    def document(self, tenant: str, doc_id: str) -> DocumentInfo | None:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.tenant = %s AND d.doc_id = %s", (tenant, doc_id)
            ).fetchone()
        return document_info(row) if row is not None else None

    @_pg_errors
    def original(self, tenant: str, doc_id: str) -> StoredOriginal | None:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT media_type, data, source_map FROM document_originals WHERE tenant = %s AND doc_id = %s",
                (tenant, doc_id),
            ).fetchone()
        if row is None:
            return None
        return StoredOriginal(Original(row[0], bytes(row[1])), source_map_from_json(row[2]))

    @_pg_errors
    def stats(self, tenant: str) -> StoreStats:
        check_tenant(tenant)
        with self._pool.connection() as conn:
            by_type = {
                ft: int(n)
                for ft, n in conn.execute(
                    "SELECT file_type, COUNT(*) FROM documents WHERE tenant = %s GROUP BY file_type", (tenant,)
                )
            }
            row = conn.execute("SELECT COUNT(*) FROM chunks WHERE tenant = %s", (tenant,)).fetchone()
        return StoreStats(
            documents=sum(by_type.values()),
            chunks=int(row[0]) if row else 0,
            embedding_model=self.embedding_model,
            by_file_type=by_type,
        )

    @_pg_errors
    def term_idf(self, tenant: str, terms: Sequence[str]) -> dict[str, float]:
        check_tenant(tenant)
        if not terms:
            return {}
        with self._pool.connection() as conn:
            row = conn.execute("SELECT n_chunks FROM tenants WHERE tenant = %s", (tenant,)).fetchone()
            if row is None or row[0] <= 0:
                return {}
            df = document_frequencies(conn, tenant, list(terms))
        return {t: bm25_idf(int(row[0]), df.get(t, 0)) for t in terms}

    @_pg_errors
    def prewarm(self) -> PrewarmReport:
        """Read this schema's HNSW indexes and chunk rows into the server's shared buffers (``pg_prewarm``,
        :mod:`ragwright.store.postgres_prewarm`); StoreError when the extension is missing and cannot be created."""
        with self._pool.connection() as conn:
            return prewarm(conn)

    def close(self) -> None:
        self._pool.close()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        """A meta value; the embedding binding never changes once written, so a found value is kept in memory."""
        cached = self._meta_seen.get(key)
        if cached is not None:
            return cached
        try:
            with self._pool.connection() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        except psycopg.Error as exc:
            raise self._error(exc, f"cannot read PostgreSQL store {self.where}") from exc
        if row is not None and key in _IMMUTABLE_META:
            with self._lock:
                self._meta_seen[key] = row[0]
        return row[0] if row else None

    def _error(self, exc: BaseException, message: str) -> StoreError:
        if isinstance(exc, psycopg.Error) and exc.sqlstate == _DISK_FULL:
            return DiskFull(f"{message}: no space left on the database server")
        return StoreError(f"{message}: {exc}")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A pooled connection inside one transaction; a failure rolls the whole write back."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise self._error(exc, f"write to {self.where} failed and was rolled back") from exc
