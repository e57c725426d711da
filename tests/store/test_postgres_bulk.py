"""Bulk loading by binary COPY (ragwright.store.postgres_bulk) leaves the same rows, totals and rankings as upsert."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ragwright.config import PostgresSettings
from ragwright.errors import StoreError
from ragwright.store.postgres import PostgresStore
from tests.store.conftest import new_schema_dsn
from tests.store.test_keyword_cache import FILTERS, assert_same_ranking, make_doc, queries

DIM = 8


def test_bulk_load_writes_what_upsert_writes(postgres_dsn: str) -> None:
    rng = random.Random(3)
    docs = [make_doc(rng, f"docs/d{i}.md", rng.randint(0, 6), rng.choice(["md", "txt"])) for i in range(40)]
    settings = PostgresSettings(hnsw_min_chunks=50)
    bulk = PostgresStore(new_schema_dsn(postgres_dsn), pool_max=2, context_weight=2.0, settings=settings)
    one = PostgresStore(new_schema_dsn(postgres_dsn), pool_max=2, context_weight=2.0)
    for store in (bulk, one):
        store.bind_embedder("m", DIM)
    progress: list[int] = []
    written = bulk.bulk_load("t", docs, batch_documents=15, on_batch=progress.append)
    for doc, chunks, vectors in docs:
        one.upsert("t", doc, chunks, vectors)
    n = sum(len(c) for _, c, _ in docs)
    assert written == n and progress[-1] == n and len(progress) == 3
    assert bulk.stats("t") == one.stats("t")
    assert [d.doc_id for d in bulk.documents("t")] == [d.doc_id for d in one.documents("t")]
    with bulk._pool.connection() as conn:
        assert bulk.dense.has_index(conn, "t")  # built after the load (n >= 50)
    ids = [c.id for _, chunks, _ in docs for c in chunks]
    assert [s.chunk for s in bulk.get("t", ids)] == [s.chunk for s in one.get("t", ids)]
    got, want = bulk.get_vectors("t", ids), one.get_vectors("t", ids)
    assert all(np.array_equal(got[i], want[i]) for i in ids)
    with bulk._pool.connection() as a, one._pool.connection() as b:
        totals = "SELECT n_chunks, n_terms FROM tenants WHERE tenant = 't'"
        assert a.execute(totals).fetchone() == b.execute(totals).fetchone()
    for q in queries(rng, 20):
        assert_same_ranking(bulk.keyword_search("t", q, 20), one.keyword_search("t", q, 20))
        assert_same_ranking(bulk.keyword_search("t", q, 20, FILTERS[0]), one.keyword_search("t", q, 20, FILTERS[0]))
    with pytest.raises(StoreError, match="rolled back"):  # a document already there: the whole batch fails
        bulk.bulk_load("t", docs[:2])
    assert bulk.stats("t").chunks == n
    bulk.close()
    one.close()
