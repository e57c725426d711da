"""Dense search in the PostgreSQL store: exact below a tenant size, an HNSW index per tenant above it.

- **Exact** (a tenant below ``hnsw_min_chunks``): ``ORDER BY embedding <=> q, id`` over the tenant's rows that pass
  the filters; every vector is read, so the cost is linear in the tenant's size (measured in bench/store_scale.py).
- **HNSW** (from ``hnsw_min_chunks`` on): a *partial* index per tenant, ``CREATE INDEX CONCURRENTLY … USING hnsw
  (embedding vector_cosine_ops) WHERE tenant = '<tenant>'``, built by the write that makes the tenant reach the size.
  One graph per tenant keeps a small tenant's neighbours from being crowded out by a big one's, and makes tenant
  isolation structural: the index only holds that tenant's rows, and the query restricts by tenant as well. The tenant
  is a SQL literal in that query (quoted by psycopg) because the planner matches a partial index's predicate only
  against constants. Filters (paths, file types, tags) sit in the same ``WHERE``; pgvector 0.8's iterative scan
  (``hnsw.iterative_scan``) keeps walking the graph until ``k`` rows pass them or ``hnsw.max_scan_tuples`` is reached.
  ``relaxed_order`` may return rows slightly out of order, so the outer query re-sorts by distance, then row id.
  Sequential scans are off for that query: a tenant with an index is big by definition, and the planner's estimates
  right after a bulk load (before autovacuum analyses the table) would otherwise pick an exact scan of everything.

Example::

    dense = DenseSearch(PostgresSettings(hnsw_min_chunks=50_000, ef_search=100))
    rows = dense.search(conn, "acme", query_vector, 10, filters)       # [(chunk_id, cosine similarity), ...]
    dense.maybe_build(pool.connection, "acme")                          # after a write: builds once past the size
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg import sql

from ragwright.config import PostgresSettings
from ragwright.store.base import Filters
from ragwright.store.postgres_sql import filter_sql

__all__ = ["DenseSearch", "index_name"]

Connect = Callable[[], AbstractContextManager[Any]]


def index_name(tenant: str) -> str:
    """The tenant's HNSW index (a hash: tenant names may hold characters an identifier may not)."""
    return "chunks_hnsw_" + hashlib.sha256(tenant.encode("utf-8")).hexdigest()[:24]


class DenseSearch:
    """Chooses exact or HNSW search per tenant and builds a tenant's HNSW index once it is big enough."""

    def __init__(self, settings: PostgresSettings | None = None) -> None:
        self.settings = settings or PostgresSettings()
        self._indexed: set[str] = set()
        self._lock = threading.Lock()

    def has_index(self, conn: Any, tenant: str) -> bool:
        """Whether a valid HNSW index over the tenant's vectors exists (remembered once seen: indexes are not
        dropped while the store runs)."""
        if tenant in self._indexed:
            return True
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", (index_name(tenant),)
        ).fetchone()
        if row is not None and row[0]:
            with self._lock:
                self._indexed.add(tenant)
            return True
        return False

    def search(
        self, conn: Any, tenant: str, query: npt.NDArray[np.float32], k: int, filters: Filters | None
    ) -> list[tuple[str, float]]:
        """The ``k`` chunks nearest to ``query`` (cosine) among the tenant's that pass ``filters``."""
        where, params = filter_sql(filters)
        join = " JOIN documents d ON d.tenant = c.tenant AND d.doc_id = c.doc_id" if where else ""
        if not self.has_index(conn, tenant):
            rows: list[tuple[str, float]] = conn.execute(
                f"SELECT c.chunk_id, 1 - (c.embedding <=> %s) FROM chunks c{join} WHERE c.tenant = %s{where}"
                " ORDER BY c.embedding <=> %s, c.id LIMIT %s",
                (query, tenant, *params, query, k),
            ).fetchall()
            return rows
        s = self.settings
        inner = sql.SQL(
            "SELECT c.id, c.chunk_id, c.embedding <=> %s AS distance FROM chunks c{join}"
            " WHERE c.tenant = {tenant}{where} ORDER BY distance LIMIT %s"
        ).format(join=sql.SQL(join), tenant=sql.Literal(tenant), where=sql.SQL(where))
        query_sql = sql.SQL(
            "WITH nearest AS MATERIALIZED ({inner}) SELECT chunk_id, 1 - distance FROM nearest ORDER BY distance, id"
        ).format(inner=inner)
        # Iterative scans only act when filters drop rows of the first pass; an unfiltered query leaves them off.
        scan = s.iterative_scan if where else "off"
        # One round trip: BEGIN, the settings, the query and COMMIT are sent together (psycopg's pipeline mode)
        # instead of waiting for each in turn — four scheduling waits on a loaded machine, not one.
        with conn.pipeline():
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true),"
                    " set_config('hnsw.max_scan_tuples', %s, true), set_config('enable_seqscan', 'off', true)",
                    (str(min(1000, max(s.ef_search, k))), scan, str(s.max_scan_tuples)),
                )
                cur = conn.execute(query_sql, (query, *params, k))
            rows = cur.fetchall()
        return rows

    def maybe_build(self, connect: Connect, tenant: str) -> bool:
        """Build the tenant's HNSW index when it holds at least ``hnsw_min_chunks`` chunks and has none; return
        whether this call built it. ``connect`` gives an autocommit connection (``CONCURRENTLY`` cannot run inside a
        transaction). One builder at a time per tenant (an advisory lock); others go on searching exactly."""
        if tenant in self._indexed:
            return False
        with connect() as conn:
            row = conn.execute("SELECT n_chunks FROM tenants WHERE tenant = %s", (tenant,)).fetchone()
            if row is None or row[0] < self.settings.hnsw_min_chunks or self.has_index(conn, tenant):
                return False
            return self.build(conn, tenant)

    def build(self, conn: Any, tenant: str) -> bool:
        """``CREATE INDEX CONCURRENTLY`` the tenant's HNSW index on autocommit connection ``conn`` (writes go on
        meanwhile). An invalid leftover of a failed build is dropped first. False when another process holds the
        build lock."""
        s = self.settings
        name = sql.Identifier(index_name(tenant))
        # Advisory locks are per database: the key names the schema too, so the same tenant name in two schemas
        # (two stores in one database) does not make one build give up for the other's.
        key = conn.execute("SELECT hashtext('ragwright.hnsw.' || current_schema() || '.' || %s)", (tenant,))
        key = key.fetchone()[0]
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            return False
        try:
            if self.has_index(conn, tenant):
                return False
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(name))
            conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", (s.build_memory,))
            conn.execute(
                sql.SQL(
                    "CREATE INDEX CONCURRENTLY {name} ON chunks USING hnsw (embedding vector_cosine_ops)"
                    " WITH (m = {m}, ef_construction = {ef}) WHERE tenant = {tenant}"
                ).format(
                    name=name,
                    m=sql.Literal(s.hnsw_m),
                    ef=sql.Literal(s.hnsw_ef_construction),
                    tenant=sql.Literal(tenant),
                )
            )
            conn.execute("RESET maintenance_work_mem")
            conn.execute("ANALYZE chunks")
            return self.has_index(conn, tenant)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
