"""Dense search through a tenant's HNSW index, on the real server: a small index is forced onto HNSW by config
(``hnsw_min_chunks``), and the whole store contract, filters and tenant isolation still hold."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ragwright.config import PostgresSettings
from ragwright.documents.model import Chunk, Document, Section
from ragwright.store.base import Filters, Store
from ragwright.store.postgres import PostgresStore
from ragwright.store.postgres_vectors import index_name
from ragwright.testing.store_contract import StoreContract
from tests.store.conftest import new_schema_dsn

DIM = 16


class TestPostgresHnswContract(StoreContract):
    """Every contract test with HNSW from the first chunk on: isolation, filters, deletes, scores."""

    @pytest.fixture(autouse=True)
    def _server(self, postgres_dsn: str) -> None:
        self._dsn = postgres_dsn

    def make_store(self, path: Path) -> Store:
        return PostgresStore(new_schema_dsn(self._dsn), pool_max=2, settings=PostgresSettings(hnsw_min_chunks=1))


def _doc(
    doc_id: str, n: int, rng: np.random.Generator, *, file_type: str = "md", tags: tuple[str, ...] = ()
) -> tuple[Document, list[Chunk], np.ndarray]:
    chunks = [
        Chunk(
            id=Chunk.make_id(doc_id, i, f"{doc_id} {i}"),
            doc_id=doc_id,
            ordinal=i,
            text=f"{doc_id} {i}",
            context="",
            char_start=0,
            char_end=1,
            heading_path=(),
            page=None,
            n_tokens=2,
        )
        for i in range(n)
    ]
    doc = Document(
        doc_id=doc_id,
        source=doc_id,
        file_type=file_type,
        title=doc_id,
        text="x",
        sections=[Section(0, 1, ())],
        content_hash=doc_id,
        tags=tags,
    )
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    return doc, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def _exact(vectors: dict[str, np.ndarray], q: np.ndarray, k: int) -> list[str]:
    ids = list(vectors)
    sims = np.stack([vectors[i] for i in ids]) @ q
    return [ids[i] for i in np.argsort(-sims, kind="stable")[:k]]


def _plan(store: PostgresStore, tenant: str, q: np.ndarray) -> str:
    with store._pool.connection() as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")  # as the search does: is the partial index usable at all?
        rows = conn.execute(
            f"EXPLAIN SELECT chunk_id FROM chunks WHERE tenant = '{tenant}' ORDER BY embedding <=> %s LIMIT 10", (q,)
        ).fetchall()
    return "\n".join(r[0] for r in rows)


def test_the_write_that_reaches_the_size_builds_the_index_and_searches_use_it(fresh_postgres_dsn: str) -> None:
    rng = np.random.default_rng(1)
    store = PostgresStore(fresh_postgres_dsn, settings=PostgresSettings(hnsw_min_chunks=2500))
    store.bind_embedder("m", DIM)
    vectors: dict[str, np.ndarray] = {}
    for i in range(3):
        doc, chunks, vecs = _doc(f"d{i}.md", 1000, rng)
        store.upsert("acme", doc, chunks, vecs)
        vectors.update({c.id: v for c, v in zip(chunks, vecs, strict=True)})
        with store._pool.connection() as conn:
            assert store.dense.has_index(conn, "acme") == (i == 2)  # 1000, 2000: exact; 3000 >= 2500: HNSW
    q = vectors[next(iter(vectors))]
    assert index_name("acme") in _plan(store, "acme", q)  # the planner takes the tenant's index at this size
    recalls = []
    for probe in rng.standard_normal((20, DIM)).astype(np.float32):
        probe /= np.linalg.norm(probe)
        hits = store.vector_search("acme", probe, 10)
        assert len(hits) == 10 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert hits[0].score == pytest.approx(float(vectors[hits[0].chunk_id] @ probe), abs=1e-5)
        recalls.append(len({h.chunk_id for h in hits} & set(_exact(vectors, probe, 10))) / 10)
    assert 0.95 <= float(np.mean(recalls))
    assert store.build_vector_index("acme") is False  # already there
    store.close()


def test_filtered_search_through_hnsw_finds_k_rows_by_iterative_scan(postgres_dsn: str) -> None:
    """A filter that keeps 8 of 3,208 chunks, all far from the query: a plain HNSW scan with ef_search 10 finds none
    of them among its candidates; the iterative scan keeps walking until k rows pass."""
    rng = np.random.default_rng(2)
    q = np.zeros(DIM, dtype=np.float32)
    q[0] = 1.0

    def fill(store: PostgresStore) -> dict[str, np.ndarray]:
        store.bind_embedder("m", DIM)
        rare: dict[str, np.ndarray] = {}
        for i in range(8):
            doc, chunks, vecs = _doc(f"common{i}.md", 400, rng)
            vecs[:, 0] = np.abs(vecs[:, 0]) + 2.0  # near the query
            store.upsert("acme", doc, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        doc, chunks, vecs = _doc("rare.txt", 8, rng, file_type="txt", tags=("rare",))
        vecs[:, 0] = -np.abs(vecs[:, 0]) - 2.0  # far from it
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.upsert("acme", doc, chunks, vecs)
        rare.update({c.id: v for c, v in zip(chunks, vecs, strict=True)})
        return rare

    iterative = PostgresStore(new_schema_dsn(postgres_dsn), settings=PostgresSettings(hnsw_min_chunks=1, ef_search=10))
    rare = fill(iterative)
    for filters in (Filters(tags=("rare",)), Filters(file_types=("txt",)), Filters(paths=("rare.*",))):
        hits = iterative.vector_search("acme", q, 8, filters)
        assert [h.chunk_id for h in hits] == _exact(rare, q, 8)
    iterative.close()

    plain = PostgresStore(
        new_schema_dsn(postgres_dsn),
        settings=PostgresSettings(hnsw_min_chunks=1, ef_search=10, iterative_scan="off"),
    )
    fill(plain)
    assert len(plain.vector_search("acme", q, 8, Filters(tags=("rare",)))) < 8  # what the iterative scan fixes
    plain.close()


def test_each_tenant_searches_only_its_own_index(fresh_postgres_dsn: str) -> None:
    """Two tenants with identical vectors and one HNSW index each: a search never returns the other's rows, and a
    tenant below the size keeps searching exactly while the other uses its index."""
    rng = np.random.default_rng(3)
    store = PostgresStore(fresh_postgres_dsn, settings=PostgresSettings(hnsw_min_chunks=40))
    store.bind_embedder("m", DIM)
    doc, chunks, vecs = _doc("a.md", 50, rng)
    store.upsert("big", doc, chunks, vecs)
    store.upsert("small", *_doc("a.md", 30, np.random.default_rng(3)))
    with store._pool.connection() as conn:
        assert store.dense.has_index(conn, "big") and not store.dense.has_index(conn, "small")
    own = {c.id for c in chunks}
    for v in vecs[:10]:
        assert {h.chunk_id for h in store.vector_search("big", v, 20)} <= own
        small = store.vector_search("small", v, 50)
        assert len(small) == 30 and all(h.chunk_id in own for h in small)  # same ids (same doc), other tenant's rows
    store.delete("big", "a.md")
    assert store.vector_search("big", vecs[0], 10) == []
    assert len(store.vector_search("small", vecs[0], 10)) == 10
    store.close()


def test_a_build_in_one_schema_does_not_block_the_same_tenant_in_another(postgres_dsn: str) -> None:
    rng = np.random.default_rng(5)
    one = PostgresStore(new_schema_dsn(postgres_dsn), pool_max=2)
    two = PostgresStore(new_schema_dsn(postgres_dsn), pool_max=2)
    for store in (one, two):
        store.bind_embedder("m", DIM)
        store.upsert("t", *_doc("a.md", 30, rng))
    with one._pool.connection() as conn:  # a build of tenant "t" in the first schema holds its lock
        key = conn.execute("SELECT hashtext('ragwright.hnsw.' || current_schema() || '.t')").fetchone()[0]
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
        try:
            assert not one.build_vector_index("t")  # the same schema waits for it
            assert two.build_vector_index("t")  # another schema builds
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    one.close()
    two.close()


def _storage(store: PostgresStore) -> str:
    with store._pool.connection() as conn:
        row = conn.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
    return str(row[0])


def test_vectors_stay_in_the_row_after_the_embedder_is_bound(fresh_postgres_dsn: str) -> None:
    """Rows with a long text and 384 dimensions are over PostgreSQL's TOAST threshold (2 kB): the text goes out of
    line, the vector stays (binding used to reset the column to pgvector's EXTERNAL, which moved the vector out)."""
    store = PostgresStore(fresh_postgres_dsn, pool_max=1)
    store.bind_embedder("m", 384)
    rng = np.random.default_rng(4)
    doc, chunks, _ = _doc("long.md", 20, rng)
    words = ["".join(rng.choice(list("abcdefghij"), 8)) for _ in range(150)]
    chunks = [dataclasses.replace(c, text=" ".join(words[i:] + words[:i])) for i, c in enumerate(chunks)]
    vecs = rng.standard_normal((20, 384)).astype(np.float32)
    store.upsert("acme", doc, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    assert _storage(store) == "m"
    with store._pool.connection() as conn:
        out_of_line = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL),"
            " count(*) FILTER (WHERE pg_column_toast_chunk_id(text) IS NOT NULL) FROM chunks"
        ).fetchone()
    assert out_of_line == (0, 20)  # the rows were over the threshold: the texts went, the vectors stayed
    store.close()


def test_the_migration_puts_vectors_back_in_the_row_for_a_store_bound_before(fresh_postgres_dsn: str) -> None:
    store = PostgresStore(fresh_postgres_dsn, pool_max=1)
    store.bind_embedder("m", DIM)
    with store._pool.connection() as conn:  # as a store bound by an earlier ragwright left it
        conn.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
        conn.execute("DELETE FROM migrations WHERE name = 'pg_index.m006_vectors_inline_again'")
    store.close()
    reopened = PostgresStore(fresh_postgres_dsn, pool_max=1)
    assert _storage(reopened) == "m"
    reopened.close()
