"""Incremental ingest: unchanged files embed nothing, changed files replace their chunks, prune removes the gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.app import Ragwright
from tests.conftest import write

GUIDE = (
    "# Guide\n\n## Install\n\nRun the installer with --force to overwrite.\n\n## Pricing\n\nThe Pro plan costs $29.\n"
)


def test_first_ingest_then_unchanged_rerun_embeds_nothing(rw: Ragwright, tmp_path: Path) -> None:
    write(tmp_path / "docs/guide.md", GUIDE)
    write(tmp_path / "docs/notes.txt", "Remember the milk.\n\nAnd the eggs.")
    first = rw.ingest([tmp_path / "docs"])
    assert first.count("added") == 2 and first.chunks_embedded == first.chunks_written > 0
    again = rw.ingest([tmp_path / "docs"])
    assert again.count("unchanged") == 2 and again.chunks_embedded == 0 and again.chunks_written == 0


def test_changed_file_replaces_stale_chunks_and_reuses_unchanged_vectors(rw: Ragwright, tmp_path: Path) -> None:
    guide = write(tmp_path / "docs/guide.md", GUIDE)
    rw.ingest([tmp_path / "docs"])
    write(guide, GUIDE.replace("The Pro plan costs $29.", "The Pro plan costs $35 from May."))
    report = rw.ingest([tmp_path / "docs"])
    assert report.count("updated") == 1
    assert report.chunks_reused >= 1 and report.chunks_embedded >= 1  # the Install section was not re-embedded
    texts = [h.chunk.chunk.text for h in rw.search("Pro plan costs", mode="bm25").hits]
    assert any("$35" in t for t in texts) and not any("$29" in t for t in texts)


def test_prune_removes_deleted_files_only_under_the_given_roots(rw: Ragwright, tmp_path: Path) -> None:
    a = write(tmp_path / "docs/a.md", "# A\n\nalpha content here")
    write(tmp_path / "docs/b.md", "# B\n\nbeta content here")
    write(tmp_path / "other/c.md", "# C\n\ngamma content here")
    rw.ingest([tmp_path / "docs", tmp_path / "other"])
    a.unlink()
    kept = rw.ingest([tmp_path / "docs"])  # without --prune nothing disappears
    assert kept.count("removed") == 0 and len(rw.store.documents("default")) == 3
    pruned = rw.ingest([tmp_path / "docs"], prune=True)
    assert [o.doc_id for o in pruned.outcomes if o.status == "removed"] == ["docs/a.md"]
    assert sorted(d.doc_id for d in rw.store.documents("default")) == ["docs/b.md", "other/c.md"]
    assert rw.search("alpha", mode="bm25").hits == []


def test_bad_files_are_reported_with_reasons_and_the_run_goes_on(rw: Ragwright, tmp_path: Path) -> None:
    write(tmp_path / "docs/good.md", "# Good\n\nuseful text")
    (tmp_path / "docs/empty.md").write_bytes(b"")
    (tmp_path / "docs/binary.txt").write_bytes(b"\x00\x01\x02\x03binary\x00")
    (tmp_path / "docs/broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (tmp_path / "docs/latin.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d undecodable")
    report = rw.ingest([tmp_path / "docs"])
    failed = {o.doc_id: o.reason for o in report.failures}
    assert set(failed) == {"docs/empty.md", "docs/binary.txt", "docs/broken.pdf", "docs/latin.txt"}
    assert all(reason for reason in failed.values())
    assert report.count("added") == 1


def test_oversized_file_is_skipped_by_limit(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    small = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"max_file_mb": 0.001})})
    app = Ragwright(small)
    write(tmp_path / "docs/big.md", "# Big\n\n" + "word " * 2000)
    report = app.ingest([tmp_path / "docs"])
    app.close()
    assert report.count("failed") == 1 and "MB" in report.failures[0].reason


def test_include_exclude_and_tenants_are_separate(rw: Ragwright, tmp_path: Path) -> None:
    write(tmp_path / "docs/a.md", "# A\n\nshared term apple")
    write(tmp_path / "docs/private/b.md", "# B\n\nshared term banana")
    rw.ingest([tmp_path / "docs"], exclude=["private/*"], tenant="t1")
    rw.ingest([tmp_path / "docs"], include=["private/*"], tenant="t2")
    assert [d.doc_id for d in rw.store.documents("t1")] == ["docs/a.md"]
    assert [d.doc_id for d in rw.store.documents("t2")] == ["docs/private/b.md"]
    assert {h.chunk.doc_path for h in rw.search("shared term", tenant="t2").hits} == {"docs/private/b.md"}


def test_loaded_documents_are_added_skipped_or_updated_by_content_hash(rw: Ragwright) -> None:
    from ragwright.documents.model import Document, Section, sha256_bytes
    from ragwright.ingest.pipeline import Ingestor

    def doc(doc_id: str, text: str) -> Document:
        return Document(
            doc_id=doc_id,
            source=f"upload#{doc_id}",
            file_type="txt",
            title=doc_id,
            text=text,
            sections=[Section(0, len(text))],
            content_hash=sha256_bytes(text.encode()),
        )

    ingestor = Ingestor(rw.store, rw.embedder, rw.settings)
    first = ingestor.ingest_documents([doc("a", "Alpha text."), doc("b", "Beta text.")], tenant="t1")
    assert first.count("added") == 2
    again = ingestor.ingest_documents(
        [doc("a", "Alpha text."), doc("b", "Beta text, revised."), doc("c", "Gamma.")], tenant="t1"
    )
    outcomes = sorted((o.doc_id, o.status) for o in again.outcomes)
    assert outcomes == [("a", "unchanged"), ("b", "updated"), ("c", "added")]
    other = ingestor.ingest_documents([doc("a", "Alpha text.")], tenant="t2")  # same id, other tenant: new there
    assert other.count("added") == 1


def test_files_indexed_by_older_loaders_are_re_extracted(
    rw: Ragwright, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ragwright.documents.model as model

    guide = write(tmp_path / "docs/guide.md", GUIDE.replace("--force", "\\-\\-force"))
    monkeypatch.setattr(model, "EXTRACTION_VERSION", 1)  # what a previous ragwright stored
    rw.ingest([tmp_path / "docs"])
    monkeypatch.undo()
    assert rw.store.documents("default")[0].content_hash.endswith(".x1")
    report = rw.ingest([tmp_path / "docs"])  # same bytes, newer loaders: re-extracted, unchanged chunks reused
    assert report.count("updated") == 1 and report.chunks_reused >= 1
    assert rw.store.documents("default")[0].content_hash.endswith(f".x{model.EXTRACTION_VERSION}")
    assert rw.ingest([tmp_path / "docs"]).count("unchanged") == 1
    assert guide.exists()


def test_the_next_batch_is_embedded_while_the_previous_one_is_written(rw: Ragwright) -> None:
    """Writing batch 1 waits until batch 2's embedding has started: only an overlapping pipeline gets past it."""
    import threading

    from ragwright.documents.model import Document, Section, sha256_bytes
    from ragwright.ingest.pipeline import Ingestor
    from ragwright.testing.fakes import FakeEmbedder

    second_started = threading.Event()
    waited: list[bool] = []

    class Embedder(FakeEmbedder):
        calls = 0

        def embed(self, texts):  # type: ignore[no-untyped-def]
            Embedder.calls += 1
            if Embedder.calls == 2:
                second_started.set()
            return super().embed(texts)

    class Store:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner = inner

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.inner, name)

        def upsert(self, tenant, doc, chunks, vectors) -> None:  # type: ignore[no-untyped-def]
            if not waited:
                waited.append(second_started.wait(timeout=60))
            self.inner.upsert(tenant, doc, chunks, vectors)

    def doc(i: int) -> Document:
        text = f"Document number {i} talks about topic {i}."
        return Document(
            doc_id=f"d{i}",
            source=f"upload#d{i}",
            file_type="txt",
            title=f"d{i}",
            text=text,
            sections=[Section(0, len(text))],
            content_hash=sha256_bytes(text.encode()),
        )

    settings = rw.settings.model_copy(update={"ingest": rw.settings.ingest.model_copy(update={"embed_batch": 1})})
    embedder = Embedder(rw.embedder.dim)
    store = Store(rw.store)
    report = Ingestor(store, embedder, settings).ingest_documents([doc(i) for i in range(4)], tenant="t")  # type: ignore[arg-type]
    assert waited == [True]  # batch 2 was being embedded while batch 1 was written
    assert report.count("added") == 4 and report.chunks_embedded == 4 and Embedder.calls == 4
    assert [d.doc_id for d in rw.store.documents("t")] == ["d0", "d1", "d2", "d3"]
