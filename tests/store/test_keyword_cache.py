"""In-memory BM25 (ragwright.store.keyword_cache) ranks exactly like the SQL path over the same SQLite file."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import sqlean as sqlite3

from ragwright.documents.model import Chunk, Document, Section
from ragwright.store.base import Filters, ScoredChunk
from ragwright.store.keyword_cache import BM25Params, KeywordCache, KeywordEntry, load_sqlite, sqlite_head
from ragwright.store.sqlite import SQLiteStore

DIM = 8
WORDS = [f"w{i}" for i in range(60)] + ["rotate", "rotating", "keys", "key", "panel", "wiring", "zebra", "the", "of"]
TAGS = ["red", "green", "blue"]


def make_doc(
    rng: random.Random, doc_id: str, n_chunks: int, file_type: str
) -> tuple[Document, list[Chunk], np.ndarray]:
    """A document of ``n_chunks`` chunks of random words (Zipf-like, so terms repeat) under random headings."""
    title = " ".join(rng.choices(WORDS[:20], k=rng.randint(1, 3)))
    texts = [
        " ".join(rng.choices(WORDS, weights=[1 / (i + 1) for i in range(len(WORDS))], k=rng.randint(3, 40)))
        for _ in range(n_chunks)
    ]
    full = "\n\n".join(texts)
    chunks, pos = [], 0
    for i, text in enumerate(texts):
        start = full.index(text, pos)
        pos = start + len(text)
        heading = (title, rng.choice(WORDS[10:30]))
        context = " > ".join(heading) if rng.random() < 0.8 else ""
        chunks.append(
            Chunk(
                id=Chunk.make_id(doc_id, i, f"{context}\n{text}"),
                doc_id=doc_id,
                ordinal=i,
                text=text,
                context=context,
                char_start=start,
                char_end=pos,
                heading_path=heading,
                n_tokens=len(text.split()),
            )
        )
    tags = tuple(rng.sample(TAGS, rng.randint(0, 2)))
    doc = Document(
        doc_id=doc_id,
        source=f"/src/{doc_id}",
        file_type=file_type,
        title=title,
        text=full,
        sections=[Section(0, len(full), (title,))],
        content_hash=f"{doc_id}:{rng.random()}",
        tags=tags,
    )
    vectors = np.asarray([[rng.random() for _ in range(DIM)] for _ in chunks], dtype=np.float32)
    return doc, chunks, vectors


def queries(rng: random.Random, n: int) -> list[str]:
    out = ["rotating keys", "the of", "unknownword", "panel wiring zebra", "w0", "w0 w0 w1", "key"]
    out += [" ".join(rng.choices(WORDS + ["nothing"], k=rng.randint(1, 6))) for _ in range(n)]
    return out


FILTERS = [
    Filters(tags=("red",)),
    Filters(tags=("green", "blue")),
    Filters(paths=("docs/a*",)),
    Filters(file_types=("md",)),
    Filters(paths=("docs/*",), file_types=("txt",), tags=("red",)),
    Filters(paths=("nothing/*",)),
]


def assert_same_ranking(mem: list[ScoredChunk], sql: list[ScoredChunk]) -> None:
    """Same scores (1e-4 relative) position by position, and the same chunks apart from order among equal scores."""
    assert len(mem) == len(sql)
    for m, s in zip(mem, sql, strict=True):
        assert m.score == pytest.approx(s.score, rel=1e-4)
    i = 0
    while i < len(sql):
        j = i
        while j + 1 < len(sql) and abs(sql[j + 1].score - sql[i].score) <= 1e-9 * abs(sql[i].score):
            j += 1
        if j + 1 < len(sql):  # a tie group cut by k may legitimately hold different members
            assert {h.chunk_id for h in mem[i : j + 1]} == {h.chunk_id for h in sql[i : j + 1]}
        i = j + 1


@pytest.fixture
def stores(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A writer/in-memory store and a SQL-path store (cache bound 0) over the same file, 300+ chunks, two tenants."""
    path = tmp_path / "index.sqlite"
    mem = SQLiteStore(path, bm25_k1=1.1, bm25_b=0.6, context_weight=2.0)
    sql = SQLiteStore(path, bm25_k1=1.1, bm25_b=0.6, context_weight=2.0, keyword_cache_max=0)
    mem.bind_embedder("m", DIM)
    rng = random.Random(7)
    for tenant, n_docs in (("acme", 60), ("other", 8)):
        for d in range(n_docs):
            prefix = "docs/a" if d % 3 == 0 else "docs/b" if d % 3 == 1 else "notes/c"
            mem.upsert(tenant, *make_doc(rng, f"{prefix}{d}.md", rng.randint(1, 9), rng.choice(["md", "txt"])))
    yield mem, sql, rng
    mem.close()
    sql.close()


def compare(mem: SQLiteStore, sql: SQLiteStore, tenant: str, qs: list[str], filters: Filters | None = None) -> int:
    nonempty = 0
    for q in qs:
        for k in (1, 5, 50, 1000):
            expected = sql.keyword_search(tenant, q, k, filters)
            assert_same_ranking(mem.keyword_search(tenant, q, k, filters), expected)
            nonempty += bool(expected)
    return nonempty


def test_in_memory_scores_and_ranks_like_sql(stores) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    assert mem.stats("acme").chunks >= 200
    qs = queries(rng, 60)
    assert compare(mem, sql, "acme", qs) > 200
    assert compare(mem, sql, "other", qs) > 50  # statistics per tenant


def test_in_memory_filters_match_sql(stores) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    qs = queries(rng, 20)
    for filters in FILTERS:
        compare(mem, sql, "acme", qs, filters)
    assert mem.keyword_search("acme", "w0", 10, Filters(paths=("nothing/*",))) == []


def test_cache_reloads_after_ingest_and_delete(stores) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    qs = queries(rng, 15)
    compare(mem, sql, "acme", qs)  # loads the cache
    doc, chunks, vectors = make_doc(rng, "docs/new.md", 4, "md")
    chunks[0] = Chunk(
        id=chunks[0].id,
        doc_id=doc.doc_id,
        ordinal=0,
        text=chunks[0].text,
        context="quokka quokka",
        char_start=chunks[0].char_start,
        char_end=chunks[0].char_end,
    )
    mem.upsert("acme", doc, chunks, vectors)
    assert [h.chunk_id for h in mem.keyword_search("acme", "quokka", 5)] == [chunks[0].id]
    compare(mem, sql, "acme", qs + ["quokka w1"])
    compare(mem, sql, "acme", qs, FILTERS[0])
    first = mem.documents("acme")[0].doc_id
    assert mem.delete("acme", first) and mem.delete("acme", "docs/new.md")
    assert mem.keyword_search("acme", "quokka", 5) == []
    compare(mem, sql, "acme", qs)
    compare(mem, sql, "acme", qs, FILTERS[1])
    sql.upsert("acme", *make_doc(rng, "docs/other-writer.md", 3, "txt"))  # another connection writes
    compare(mem, sql, "acme", qs)


def test_bm25_settings_changed_after_open_are_used(stores) -> None:  # type: ignore[no-untyped-def]
    mem, sql, rng = stores
    qs = queries(rng, 10)
    compare(mem, sql, "acme", qs)
    for store in (mem, sql):
        store.bm25_k1, store.bm25_b, store.context_weight = 0.5, 0.9, 1.0
    compare(mem, sql, "acme", qs)


def cached(cache: KeywordCache, db: sqlite3.Connection, table: str, params: BM25Params) -> KeywordEntry | None:
    """The cache's answer for tenant "acme" of a SQLite index, as the store asks it."""
    return cache.get("acme", params, sqlite_head(db, "acme"), lambda: load_sqlite(db, "acme", table, params))


def test_tenants_above_the_bound_are_not_cached(stores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mem, _, _ = stores
    db = sqlite3.connect(str(tmp_path / "index.sqlite"), isolation_level=None)
    try:
        ((acme_table,),) = db.execute("SELECT kw_table FROM tenants WHERE tenant = 'acme'").fetchall()
        params = BM25Params(0.9, 0.4, 1.0)
        assert cached(KeywordCache(max_chunks=10), db, acme_table, params) is None
        entry = cached(KeywordCache(max_chunks=10_000), db, acme_table, params)
        assert entry is not None and len(entry.chunk_ids) == mem.stats("acme").chunks
        assert not db.in_transaction
    finally:
        db.close()


def test_a_changed_tenant_is_reloaded_once_sql_has_cost_as_much_as_a_load(stores, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mem, _, rng = stores
    db = sqlite3.connect(str(tmp_path / "index.sqlite"), isolation_level=None)
    try:
        ((table,),) = db.execute("SELECT kw_table FROM tenants WHERE tenant = 'acme'").fetchall()
        params, cache = BM25Params(0.9, 0.4, 1.0), KeywordCache(max_chunks=10_000)
        first = cached(cache, db, table, params)
        assert first is not None and first.load_s > 0
        assert cached(cache, db, table, params) is first
        mem.upsert("acme", *make_doc(rng, "docs/changed.md", 2, "md"))
        assert cached(cache, db, table, params) is None  # stale: the caller scores in SQL
        cache.charge("acme", first.load_s / 2)
        assert cached(cache, db, table, params) is None
        cache.charge("acme", first.load_s / 2)
        second = cached(cache, db, table, params)
        assert second is not None and second.version == first.version + 1
        assert len(second.chunk_ids) == len(first.chunk_ids) + 2 and second.stale_sql_s == 0
        assert cached(cache, db, table, BM25Params(1.2, 0.4, 1.0)) is not second  # new settings: reload now
    finally:
        db.close()
