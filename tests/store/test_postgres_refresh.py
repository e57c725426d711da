"""Two PostgreSQL stores on one database are two replicas: a write through one is applied to the postings the other
holds in memory (ragwright.store.keyword_refresh), without the SQL path and without a full reload, and its next
keyword search scores exactly like a fresh load — deletes included."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from ragwright.config import PostgresSettings
from ragwright.store import keyword_refresh, postgres_write
from ragwright.store.base import Filters, ScoredChunk
from ragwright.store.postgres import PostgresStore
from tests.store.test_keyword_cache import FILTERS, make_doc, queries

DIM = 8
WEIGHTS = {"bm25_k1": 1.1, "bm25_b": 0.6, "context_weight": 2.0}
Replicas = tuple[PostgresStore, PostgresStore, random.Random, str]


def open_store(dsn: str) -> PostgresStore:
    return PostgresStore(dsn, pool_max=2, **WEIGHTS)  # type: ignore[arg-type]


@pytest.fixture
def replicas(fresh_postgres_dsn: str) -> Iterator[Replicas]:
    """Replica A (writes) and replica B (searches), 40 documents in tenant acme, 5 in other."""
    a, b = open_store(fresh_postgres_dsn), open_store(fresh_postgres_dsn)
    a.bind_embedder("m", DIM)
    rng = random.Random(11)
    for tenant, n_docs in (("acme", 40), ("other", 5)):
        for d in range(n_docs):
            prefix = "docs/a" if d % 2 else "notes/b"
            a.upsert(tenant, *make_doc(rng, f"{prefix}{d}.md", rng.randint(1, 6), rng.choice(["md", "txt"])))
    yield a, b, rng, fresh_postgres_dsn
    a.close()
    b.close()


def search_all(
    store: PostgresStore, tenant: str, qs: list[str], filters: Filters | None = None
) -> list[list[ScoredChunk]]:
    return [store.keyword_search(tenant, q, 1000, filters) for q in qs]


def assert_like_a_fresh_load(b: PostgresStore, dsn: str, qs: list[str]) -> None:
    """B's results (ids, order and scores, compared exactly) equal those of a store that has just loaded."""
    fresh = open_store(dsn)
    try:
        for tenant in ("acme", "other"):
            assert search_all(b, tenant, qs) == search_all(fresh, tenant, qs)
            for filters in FILTERS:
                assert search_all(b, tenant, qs[:8], filters) == search_all(fresh, tenant, qs[:8], filters)
        assert fresh.keywords.cache.counts.sql == 0
    finally:
        fresh.close()


def test_a_write_on_one_replica_is_applied_to_the_others_postings(replicas: Replicas) -> None:
    a, b, rng, dsn = replicas
    qs = queries(rng, 25) + ["quokka", "quokka w1"]
    search_all(b, "acme", qs)  # B loads both tenants' postings
    search_all(b, "other", qs)
    counts = b.keywords.cache.counts
    assert (counts.loads, counts.refreshes, counts.sql) == (2, 0, 0)

    replaced, deleted = "docs/a3.md", "notes/b4.md"
    gone = {c.chunk.id for d in (replaced, deleted) for c in a.chunks("acme", d)}
    doc, chunks, vectors = make_doc(rng, "docs/quokka.md", 2, "md")
    chunks[0] = dataclasses.replace(chunks[0], context="quokka quokka")
    a.upsert("acme", doc, chunks, vectors)  # a new document with a new term
    a.upsert("acme", *make_doc(rng, replaced, 3, "md"))  # replaced: its old chunks removed, new ones added
    assert a.delete("acme", deleted)
    assert a.set_tags("acme", "docs/a1.md", ("red", "blue"))  # a version without postings changed
    a.bulk_load("acme", [make_doc(rng, f"bulk/{i}.md", 2, "txt") for i in range(3)])

    after = search_all(b, "acme", qs)
    assert (counts.loads, counts.sql) == (2, 0)  # neither the SQL path nor a reload
    assert counts.refreshes == 1  # one refresh took all five versions
    assert [h.chunk_id for h in b.keyword_search("acme", "quokka", 5)] == [chunks[0].id]
    assert not gone & {h.chunk_id for hits in after for h in hits}  # deletes leave no trace
    assert_like_a_fresh_load(b, dsn, qs)
    assert (counts.loads, counts.sql) == (2, 0)

    assert a.delete("acme", "docs/quokka.md")
    assert b.keyword_search("acme", "quokka", 5) == []
    assert_like_a_fresh_load(b, dsn, qs)
    assert (counts.loads, counts.refreshes, counts.sql) == (2, 2, 0)


def test_many_refreshes_merge_their_segments_and_stay_exact(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, rng, dsn = replicas
    monkeypatch.setattr(keyword_refresh, "MAX_SEGMENTS", 2)
    qs = queries(rng, 15)
    search_all(b, "acme", qs)
    search_all(b, "other", qs)
    for i in range(6):
        a.upsert("acme", *make_doc(rng, f"more/{i}.md", rng.randint(1, 4), "md"))
        if i % 2:
            assert a.delete("acme", f"docs/a{2 * i + 1}.md")
        search_all(b, "acme", qs[:3])
    entry = b.keywords.cache._entries["acme"]
    assert len(entry.segments) <= 2 and entry.dead is not None
    assert_like_a_fresh_load(b, dsn, qs)
    assert b.keywords.cache.counts.refreshes == 6 and b.keywords.cache.counts.loads == 2


def test_a_gap_in_the_change_log_falls_back_to_sql_and_a_reload(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, rng, dsn = replicas
    monkeypatch.setattr(postgres_write, "CHANGES_KEPT", 2)  # the writes below prune what B would need
    qs = queries(rng, 10)
    search_all(b, "acme", qs)
    for i in range(4):
        a.upsert("acme", *make_doc(rng, f"late/{i}.md", 2, "md"))
    with a._pool.connection() as conn:
        kept = conn.execute("SELECT COUNT(*) FROM tenant_changes WHERE tenant = 'acme'").fetchone()[0]
    assert kept == 2
    assert_like_a_fresh_load(b, dsn, qs)  # exact all the same: the SQL path, then a reload
    counts = b.keywords.cache.counts
    assert counts.refreshes == 0 and counts.sql > 0


def test_too_many_dead_rows_reload(replicas: Replicas) -> None:
    a, b, rng, dsn = replicas
    qs = queries(rng, 10)
    search_all(b, "acme", qs)
    for d in range(1, 40, 2):  # half the documents
        assert a.delete("acme", f"docs/a{d}.md")
    assert_like_a_fresh_load(b, dsn, qs)
    assert b.keywords.cache.counts.refreshes == 0


def test_the_sql_path_scores_exactly_like_postings_in_memory(replicas: Replicas) -> None:
    """Which path a search takes depends on time (a stale entry is reloaded once the SQL path has cost as much as a
    load), so the two must agree to the last bit: SQL sums each chunk's terms in the query's order, as numpy does."""
    a, b, rng, dsn = replicas
    qs = queries(rng, 60)
    in_sql = PostgresStore(dsn, settings=PostgresSettings(keyword_cache_max=1), **WEIGHTS)  # type: ignore[arg-type]
    try:
        for tenant in ("acme", "other"):
            assert search_all(in_sql, tenant, qs) == search_all(b, tenant, qs)
            for filters in FILTERS:
                assert search_all(in_sql, tenant, qs[:20], filters) == search_all(b, tenant, qs[:20], filters)
        assert in_sql.keywords.cache.counts.loads == 0 and in_sql.keywords.cache.counts.sql > 0
        assert b.keywords.cache.counts.loads == 2 and b.keywords.cache.counts.sql == 0
    finally:
        in_sql.close()
