"""`StoreContract`: the behaviour every `Store` backend must show, as a pytest mixin.

Use it by subclassing in a test module and implementing ``make_store``::

    class TestSQLiteStore(StoreContract):
        def make_store(self, path: Path) -> Store:
            return SQLiteStore(path / "index.sqlite")

The PostgreSQL backend passes the same class unchanged; that is what "same behaviour" means here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragwright.documents.model import Chunk, Document, Original, Section, SourceMap, SourceSpan
from ragwright.errors import StoreError
from ragwright.retrieval.analysis import analyze
from ragwright.store.base import Filters, Store

DIM = 8


def make_doc(
    doc_id: str, texts: list[str], *, file_type: str = "md", tags: tuple[str, ...] = (), version: str = "1"
) -> tuple[Document, list[Chunk], np.ndarray]:
    """A document whose chunks are ``texts``, with deterministic vectors derived from the text."""
    full = "\n\n".join(texts)
    chunks, pos = [], 0
    for i, text in enumerate(texts):
        start = full.index(text, pos)
        pos = start + len(text)
        indexed = f"{doc_id}\n{text}"
        chunks.append(
            Chunk(
                id=Chunk.make_id(doc_id, i, indexed),
                doc_id=doc_id,
                ordinal=i,
                text=text,
                context=doc_id,
                char_start=start,
                char_end=pos,
                heading_path=("H",),
                page=None,
                n_tokens=len(text.split()),
                source_spans=(
                    SourceSpan(None, start, pos),
                    SourceSpan(2, i, i + 1),
                ),  # stored, so round-trip tests see them
            )
        )
    doc = Document(
        doc_id=doc_id,
        source=f"/src/{doc_id}",
        file_type=file_type,
        title=doc_id.upper(),
        text=full,
        sections=[Section(0, len(full), ("H",))],
        content_hash=f"{doc_id}:{version}",
        tags=tags,
    )
    return doc, chunks, np.stack([text_vector(c.indexed_text) for c in chunks]) if chunks else np.zeros((0, DIM))


def text_vector(text: str) -> np.ndarray:
    rng = np.random.default_rng(abs(hash(text)) % (2**32))
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class StoreContract:
    """Behaviour shared by every Store backend. Subclasses implement :meth:`make_store`."""

    def make_store(self, path: Path) -> Store:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        s = self.make_store(tmp_path)
        s.bind_embedder("contract-embedder", DIM)
        yield s
        s.close()

    # -- writes and reads -----------------------------------------------------------------------------------------

    def test_upsert_then_get_round_trips_every_field(self, store: Store) -> None:
        doc, chunks, vecs = make_doc("guide.md", ["alpha beta", "gamma delta"], tags=("ops",))
        store.upsert("t1", doc, chunks, vecs)
        got = store.get("t1", [chunks[1].id, chunks[0].id])
        assert [g.chunk for g in got] == [chunks[1], chunks[0]]
        assert got[0].doc_title == "GUIDE.MD" and got[0].file_type == "md" and got[0].tags == ("ops",)
        info = store.documents("t1")
        assert [(d.doc_id, d.content_hash, d.n_chunks) for d in info] == [("guide.md", "guide.md:1", 2)]
        assert store.stats("t1").chunks == 2 and store.stats("t1").documents == 1

    def test_originals_round_trip_per_tenant_and_leave_with_their_document(self, store: Store) -> None:
        doc, chunks, vecs = make_doc("manual.pdf", ["alpha beta"], file_type="pdf")
        doc.original = Original(Original.PDF, b"%PDF-1.7 \x00\xff bytes")
        doc.source_map = SourceMap((0, 7), (5, 12), (3, 40), (8, 45), (1, 2))
        store.upsert("t1", doc, chunks, vecs)
        plain, pchunks, pvecs = make_doc("notes.md", ["gamma"])  # stored without an original
        store.upsert("t1", plain, pchunks, pvecs)
        got = store.original("t1", "manual.pdf")
        assert got is not None and got.original == doc.original and got.source_map == doc.source_map
        assert store.original("t2", "manual.pdf") is None  # another tenant never reads it
        assert store.original("t1", "notes.md") is None
        doc.original = Original(Original.TEXT, "café".encode())
        doc.source_map = None
        doc.content_hash = "manual.pdf:2"
        store.upsert("t1", doc, chunks, vecs)  # replaced with the document
        again = store.original("t1", "manual.pdf")
        assert again is not None and again.original.data == "café".encode() and again.source_map is None
        store.delete("t1", "manual.pdf")
        assert store.original("t1", "manual.pdf") is None

    def test_reupsert_replaces_stale_chunks_everywhere(self, store: Store) -> None:
        store.upsert("t1", *make_doc("a.md", ["zebra stripes", "lion mane"]))
        doc, chunks, vecs = make_doc("a.md", ["lion mane roars"], version="2")
        store.upsert("t1", doc, chunks, vecs)
        assert store.keyword_search("t1", "zebra", 10) == []
        hits = store.vector_search("t1", vecs[0], 10)
        assert [h.chunk_id for h in hits] == [chunks[0].id]
        assert store.stats("t1").chunks == 1
        assert store.documents("t1")[0].content_hash == "a.md:2"

    def test_delete_removes_document_and_reports_absence(self, store: Store) -> None:
        doc, chunks, vecs = make_doc("a.md", ["zebra stripes"])
        store.upsert("t1", doc, chunks, vecs)
        assert store.delete("t1", "a.md") is True
        assert store.delete("t1", "a.md") is False
        assert store.keyword_search("t1", "zebra", 10) == []
        assert store.vector_search("t1", vecs[0], 10) == []
        assert store.get("t1", [chunks[0].id]) == []

    def test_vectors_are_kept_and_found_by_text_hash(self, store: Store) -> None:
        doc, chunks, vecs = make_doc("a.md", ["one fish", "two fish"])
        store.upsert("t1", doc, chunks, vecs)
        got = store.get_vectors("t1", [chunks[0].id])
        np.testing.assert_allclose(got[chunks[0].id], vecs[0], rtol=1e-6)
        by_hash = store.vectors_by_text_hash("t1", [chunks[1].text_hash, "missing"])
        assert set(by_hash) == {chunks[1].text_hash}
        np.testing.assert_allclose(by_hash[chunks[1].text_hash], vecs[1], rtol=1e-6)
        assert store.vectors_by_text_hash("t2", [chunks[1].text_hash]) == {}

    def test_vector_lookups_after_searches_follow_writes(self, store: Store) -> None:
        """Stores may answer lookups from what a search loaded; the answers must still follow every write."""
        doc, chunks, vecs = make_doc("a.md", ["one fish", "two fish"])
        store.upsert("t1", doc, chunks, vecs)
        other, other_chunks, other_vecs = make_doc("b.md", ["red fish"])
        store.upsert("t2", other, other_chunks, other_vecs)
        store.vector_search("t1", vecs[0], 5)  # a store with an in-memory index loads it here
        ids = [c.id for c in chunks]
        got = store.get_vectors("t1", [*ids, other_chunks[0].id, "missing"])
        assert set(got) == set(ids)
        for cid, vec in zip(ids, vecs, strict=True):
            np.testing.assert_allclose(got[cid], vec, rtol=1e-6)
        doc2, chunks2, vecs2 = make_doc("a.md", ["one fish changed"], version="2")
        store.upsert("t1", doc2, chunks2, vecs2)  # replaces a.md: its old chunks are gone
        got = store.get_vectors("t1", [*ids, chunks2[0].id])
        assert set(got) == {chunks2[0].id}
        np.testing.assert_allclose(got[chunks2[0].id], vecs2[0], rtol=1e-6)
        store.vector_search("t1", vecs2[0], 5)
        store.delete("t1", doc2.doc_id)
        assert store.get_vectors("t1", [chunks2[0].id]) == {}

    def test_embedder_mismatch_is_refused(self, store: Store) -> None:
        with pytest.raises(StoreError):
            store.bind_embedder("another-model", DIM)
        store.bind_embedder("contract-embedder", DIM)  # same: fine

    def test_tenant_is_required(self, store: Store) -> None:
        doc, chunks, vecs = make_doc("a.md", ["x"])
        with pytest.raises(StoreError):
            store.upsert("", doc, chunks, vecs)
        with pytest.raises(StoreError):
            store.keyword_search("", "x", 3)

    # -- ranking --------------------------------------------------------------------------------------------------

    def test_bm25_scores_match_the_formula(self, store: Store) -> None:
        texts = ["solar panel install guide", "panel panel wiring", "battery storage", "inverter warranty terms"]
        for i, text in enumerate(texts):
            store.upsert("t1", *make_doc(f"d{i}.md", [text]))
        k1, b = store.bm25_k1, store.bm25_b
        docs = [analyze(f"d{i}.md\n{t}") for i, t in enumerate(texts)]
        avgdl = sum(map(len, docs)) / len(docs)

        def bm25(query: str, terms: list[str]) -> float:
            score = 0.0
            for q in dict.fromkeys(analyze(query)):
                df = sum(q in d for d in docs)
                tf = terms.count(q)
                if df and tf:
                    idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                    score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(terms) / avgdl))
            return score

        hits = store.keyword_search("t1", "panel wiring", 10)
        expected = sorted(((bm25("panel wiring", d), i) for i, d in enumerate(docs)), key=lambda x: -x[0])
        expected = [e for e in expected if e[0] > 0]
        assert len(hits) == len(expected) == 2
        for hit, (score, _) in zip(hits, expected, strict=True):
            assert hit.score == pytest.approx(score, rel=1e-9)
        assert store.get("t1", [hits[0].chunk_id])[0].chunk.doc_id == "d1.md"

    def test_vector_search_ranks_by_cosine(self, store: Store) -> None:
        texts = [f"passage number {i}" for i in range(20)]
        doc, chunks, vecs = make_doc("v.md", texts)
        store.upsert("t1", doc, chunks, vecs)
        hits = store.vector_search("t1", vecs[7], 5)
        assert hits[0].chunk_id == chunks[7].id and hits[0].score == pytest.approx(1.0, abs=1e-5)
        expected = np.argsort(-(vecs @ vecs[7]))[:5]
        assert [h.chunk_id for h in hits] == [chunks[i].id for i in expected]
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))

    def test_filters_apply_to_both_searches(self, store: Store) -> None:
        store.upsert("t1", *make_doc("docs/a.md", ["shared words here"], tags=("blue",)))
        store.upsert("t1", *make_doc("docs/b.pdf", ["shared words there"], file_type="pdf", tags=("red",)))
        store.upsert("t1", *make_doc("notes/c.md", ["shared words elsewhere"]))
        q = text_vector("docs/a.md\nshared words here")
        cases = {
            Filters(paths=("docs/*",)): {"docs/a.md", "docs/b.pdf"},
            Filters(file_types=("pdf",)): {"docs/b.pdf"},
            Filters(tags=("blue", "green")): {"docs/a.md"},
            Filters(paths=("docs/*",), file_types=("md",)): {"docs/a.md"},
            Filters(tags=("nope",)): set(),
        }
        for filters, expected in cases.items():
            kw = store.keyword_search("t1", "shared words", 10, filters)
            vec = store.vector_search("t1", q, 10, filters)
            for hits in (kw, vec):
                docs = {s.chunk.doc_id for s in store.get("t1", [h.chunk_id for h in hits])}
                assert docs == expected, filters

    def test_document_pages_cover_every_document_once_in_order_per_tenant(self, store: Store) -> None:
        ids = [f"d{i:02d}.md" for i in range(8)] + ["Z.md", "a/b.md", "\u00e9t\u00e9.md", "d03.md.bak"]
        for i, doc_id in enumerate(ids):
            store.upsert("t1", *make_doc(doc_id, [f"text number {i}"], tags=("even",) if i % 2 == 0 else ("odd",)))
        store.upsert("t2", *make_doc("d03.md", ["other tenant"], tags=("even",)))
        store.upsert("t2", *make_doc("zz.md", ["other tenant"], tags=("even",)))

        def walk(tenant: str, limit: int, tags: tuple[str, ...] = ()) -> list[str]:
            seen: list[str] = []
            after: str | None = None
            while True:
                page = store.documents(tenant, after=after, limit=limit, tags=tags)
                assert len(page) <= limit
                seen += [d.doc_id for d in page]
                if len(page) < limit:
                    return seen
                after = page[-1].doc_id

        evens = sorted(d for i, d in enumerate(ids) if i % 2 == 0)
        for limit in (1, 3, 4, 12, 100):
            assert walk("t1", limit) == sorted(ids), limit
            assert walk("t1", limit, ("even",)) == evens, limit
            assert walk("t1", limit, ("odd", "even")) == sorted(ids), limit
            assert walk("t2", limit) == ["d03.md", "zz.md"], limit
        assert [d.doc_id for d in store.documents("t1")] == sorted(ids)  # no arguments: everything, as before
        assert [d.doc_id for d in store.documents("t2", after="d00.md")] == ["d03.md", "zz.md"]
        assert [d.doc_id for d in store.documents("t1", after="d07.md", limit=2)] == ["\u00e9t\u00e9.md"]
        assert store.documents("t1", after="\uffff") == [] and store.documents("t1", limit=0) == []
        assert store.documents("t1", tags=("nope",)) == [] and store.documents("nobody", after="a", limit=5) == []

    def test_document_looks_up_one_of_the_tenants_documents_by_id(self, store: Store) -> None:
        store.upsert("t1", *make_doc("a.md", ["alpha beta", "gamma"], tags=("ops", "eu")))
        store.upsert("t1", *make_doc("a.md.bak", ["other"]))
        store.upsert("t2", *make_doc("b.md", ["theirs"], tags=("secret",)))
        found = store.document("t1", "a.md")
        assert found is not None and found == store.documents("t1")[0]  # the same fields as the listing
        assert (
            found.doc_id,
            found.source,
            found.file_type,
            found.title,
            found.content_hash,
            found.n_chunks,
            found.tags,
        ) == ("a.md", "/src/a.md", "md", "A.MD", "a.md:1", 2, ("ops", "eu"))
        assert found.ingested_at > 0
        assert store.document("t1", "missing.md") is None and store.document("t1", "a.m%") is None
        assert store.document("t1", "b.md") is None  # another tenant's id
        assert store.document("nobody", "a.md") is None
        store.upsert("t1", *make_doc("a.md", ["replaced"], tags=("ops",), version="2"))
        replaced = store.document("t1", "a.md")
        assert replaced is not None and (replaced.content_hash, replaced.n_chunks, replaced.tags) == (
            "a.md:2",
            1,
            ("ops",),
        )
        assert store.delete("t1", "a.md") is True
        assert store.document("t1", "a.md") is None
        assert store.document("t1", "a.md.bak") is not None and store.document("t2", "b.md") is not None
        with pytest.raises(StoreError):
            store.document("", "a.md")

    def test_unknown_tenant_and_empty_query_return_nothing(self, store: Store) -> None:
        store.upsert("t1", *make_doc("a.md", ["hello world"]))
        assert store.keyword_search("nobody", "hello", 5) == []
        assert store.vector_search("nobody", text_vector("a.md\nhello world"), 5) == []
        assert store.keyword_search("t1", "the of and", 5) == []
        assert store.documents("nobody") == [] and store.stats("nobody").chunks == 0

    # -- isolation (property) -------------------------------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: object) -> None:
        # Each backend's suite gets its own Hypothesis-wrapped property: Hypothesis refuses one @given function run
        # from two classes in a process (HealthCheck.differing_executors), as the SQLite and PostgreSQL suites are.
        super().__init_subclass__(**kwargs)
        cls.test_no_query_ever_returns_another_tenants_chunk = _isolation_property()  # type: ignore[method-assign]

    def test_no_query_ever_returns_another_tenants_chunk(
        self, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
    ) -> None:
        """Replaced per subclass by :func:`_isolation_property`."""
        raise NotImplementedError


def _isolation_property() -> Any:
    """A fresh property test: no search, get or vector lookup of one tenant returns another tenant's chunk."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_no_query_ever_returns_another_tenants_chunk(
        self: StoreContract, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
    ) -> None:
        words = st.sampled_from(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"])
        texts = st.lists(words, min_size=1, max_size=6).map(" ".join)
        tenants = data.draw(
            st.lists(st.sampled_from(["t1", "t2", "t3", "acme", "evil"]), min_size=2, max_size=4, unique=True)
        )
        store = self.make_store(tmp_path_factory.mktemp("iso"))
        store.bind_embedder("contract-embedder", DIM)
        owned: dict[str, set[str]] = {t: set() for t in tenants}
        try:
            for _ in range(data.draw(st.integers(1, 8))):
                tenant = data.draw(st.sampled_from(tenants))
                doc_id = data.draw(st.sampled_from(["a.md", "b.md", "c.pdf"]))  # same ids across tenants on purpose
                doc, chunks, vecs = make_doc(
                    doc_id,
                    data.draw(st.lists(texts, min_size=1, max_size=3)),
                    tags=tuple(data.draw(st.lists(words, max_size=2))),
                )
                before = {s.chunk.id for s in store.get(tenant, [c for c in owned[tenant]]) if s.chunk.doc_id == doc_id}
                store.upsert(tenant, doc, chunks, vecs)
                owned[tenant] = (owned[tenant] - before) | {c.id for c in chunks}
            for tenant in tenants:
                query = data.draw(texts)
                filters = Filters(tags=tuple(data.draw(st.lists(words, max_size=2))))
                for hits in (
                    store.keyword_search(tenant, query, 50),
                    store.keyword_search(tenant, query, 50, filters),
                    store.vector_search(tenant, text_vector(query), 50),
                    store.vector_search(tenant, text_vector(query), 50, filters),
                ):
                    assert {h.chunk_id for h in hits} <= owned[tenant]
                others = set().union(*(owned[t] for t in tenants if t != tenant)) - owned[tenant]
                assert store.get(tenant, sorted(others)) == []
                assert set(store.get_vectors(tenant, sorted(others))) == set()
        finally:
            store.close()

    return test_no_query_ever_returns_another_tenants_chunk
