"""PostgreSQL keyword search from postings held in memory (ragwright.store.postgres_keywords) ranks exactly like the
SQL path over the same database, and stays coherent when another process (another store) writes."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from ragwright.config import PostgresSettings
from ragwright.store import postgres_keywords
from ragwright.store.base import Filters
from ragwright.store.keyword_cache import BM25Params
from ragwright.store.postgres import PostgresStore
from tests.store.test_keyword_cache import FILTERS, assert_same_ranking, make_doc, queries

DIM = 8
WEIGHTS = {"bm25_k1": 1.1, "bm25_b": 0.6, "context_weight": 2.0}


@pytest.fixture
def stores(fresh_postgres_dsn: str) -> Iterator[tuple[PostgresStore, PostgresStore, random.Random]]:
    """An in-memory store and a SQL-path store (cache bound 0) over the same schema, 300+ chunks, two tenants."""
    mem = PostgresStore(fresh_postgres_dsn, pool_max=2, **WEIGHTS)  # type: ignore[arg-type]
    sql = PostgresStore(
        fresh_postgres_dsn,
        pool_max=2,
        settings=PostgresSettings(keyword_cache_max=0),
        **WEIGHTS,  # type: ignore[arg-type]
    )
    mem.bind_embedder("m", DIM)
    rng = random.Random(7)
    for tenant, n_docs in (("acme", 60), ("other", 8)):
        for d in range(n_docs):
            prefix = "docs/a" if d % 3 == 0 else "docs/b" if d % 3 == 1 else "notes/c"
            mem.upsert(tenant, *make_doc(rng, f"{prefix}{d}.md", rng.randint(1, 9), rng.choice(["md", "txt"])))
    yield mem, sql, rng
    mem.close()
    sql.close()


def compare(mem: PostgresStore, sql: PostgresStore, tenant: str, qs: list[str], filters: Filters | None = None) -> int:
    nonempty = 0
    for q in qs:
        for k in (1, 5, 50, 1000):
            expected = sql.keyword_search(tenant, q, k, filters)
            assert_same_ranking(mem.keyword_search(tenant, q, k, filters), expected)
            nonempty += bool(expected)
    return nonempty


def held(store: PostgresStore, tenant: str) -> int | None:
    """The version of the tenant's postings this store holds in memory (None: none held)."""
    entry = store.keywords.cache._entries.get(tenant)
    return entry.version if entry is not None else None


def test_in_memory_scores_and_ranks_like_sql(stores, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    monkeypatch.setattr(postgres_keywords, "_BATCH", 37)  # many slices per load
    qs = queries(rng, 60)
    assert compare(mem, sql, "acme", qs) > 200
    assert compare(mem, sql, "other", qs) > 50  # statistics per tenant
    assert held(mem, "acme") is not None and held(sql, "acme") is None
    for filters in FILTERS:
        compare(mem, sql, "acme", qs[:20], filters)
    assert mem.keyword_search("acme", "w0", 10, Filters(paths=("nothing/*",))) == []


def test_a_write_by_another_process_is_seen_by_the_next_search(stores) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    qs = queries(rng, 15)
    compare(mem, sql, "acme", qs)  # loads the postings
    loaded = held(mem, "acme")
    doc, chunks, vectors = make_doc(rng, "docs/new.md", 4, "md")
    sql.upsert("acme", doc, chunks, vectors)  # another store: this one's memory is now stale
    new_term = "quokka"
    doc2, chunks2, vectors2 = make_doc(rng, "docs/quokka.md", 1, "md")
    chunks2[0] = dataclasses.replace(chunks2[0], context=f"{new_term} {new_term}")
    sql.upsert("acme", doc2, chunks2, vectors2)
    assert [h.chunk_id for h in mem.keyword_search("acme", new_term, 5)] == [chunks2[0].id]
    compare(mem, sql, "acme", qs + ["quokka w1"])
    compare(mem, sql, "acme", qs, FILTERS[0])
    assert sql.delete("acme", "docs/quokka.md")
    assert mem.keyword_search("acme", new_term, 5) == []
    for _ in range(200):  # the SQL path's time earns a reload (ski rental), then memory serves the new version
        if held(mem, "acme") != loaded:
            break
        mem.keyword_search("acme", "w0 w1 w2 rotate keys panel", 50)
    assert held(mem, "acme") is not None and held(mem, "acme") != loaded
    compare(mem, sql, "acme", qs)


def test_loaded_postings_match_the_table(stores) -> None:  # type: ignore[no-untyped-def]
    mem, _, _ = stores
    params = BM25Params(0.9, 0.4, 1.0)
    with mem._pool.connection() as conn:
        entry = postgres_keywords.load_postgres(conn, "other", params)
        n_postings = conn.execute("SELECT COUNT(*) FROM postings WHERE tenant = 'other'").fetchone()[0]
        n_terms = conn.execute("SELECT COUNT(DISTINCT term) FROM postings WHERE tenant = 'other'").fetchone()[0]
        assert postgres_keywords.load_postgres(conn, "nobody", params) is None
    assert entry is not None
    (seg,) = entry.segments
    assert len(seg.rows) == n_postings and len(seg.spans) == n_terms
    assert len(entry.chunk_ids) == mem.stats("other").chunks
