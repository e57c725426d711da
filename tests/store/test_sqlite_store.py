"""The embedded store passes the shared contract, plus SQLite-specific checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.errors import SchemaVersionError, StoreError
from ragwright.store.base import Store
from ragwright.store.sqlite import SQLiteStore
from ragwright.testing.store_contract import StoreContract, make_doc


class TestSQLiteStoreContract(StoreContract):
    def make_store(self, path: Path) -> Store:
        return SQLiteStore(path / "index.sqlite")


def test_reopening_keeps_data_and_uses_wal(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "i.sqlite")
    s.bind_embedder("m", 8)
    s.upsert("t", *make_doc("a.md", ["persisted words"]))
    s.close()
    s2 = SQLiteStore(tmp_path / "i.sqlite")
    assert s2.embedding_model == "m" and s2.embedding_dim == 8
    assert len(s2.keyword_search("t", "persisted", 5)) == 1
    assert s2._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s2.close()


def test_failed_upsert_rolls_back_whole_document(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "i.sqlite")
    s.bind_embedder("m", 8)
    s.upsert("t", *make_doc("a.md", ["original text"]))
    doc, chunks, vecs = make_doc("a.md", ["new text", "more new text"], version="2")
    with pytest.raises(StoreError):
        s.upsert("t", doc, chunks, vecs[:1])  # length mismatch is detected before writing
    with pytest.raises(StoreError):
        s.upsert("t", doc, chunks, vecs[:, :4].copy())  # wrong dimension: refused before writing
    with pytest.raises(StoreError, match="rolled back"):
        s.upsert("t", doc, [chunks[0], chunks[0]], vecs)  # duplicate chunk id: fails mid-transaction
    assert [d.content_hash for d in s.documents("t")] == ["a.md:1"]
    assert len(s.keyword_search("t", "original", 5)) == 1 and s.keyword_search("t", "new", 5) == []
    s.close()


def test_index_from_newer_version_is_refused(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "i.sqlite")
    s._db.execute("INSERT INTO migrations VALUES ('m999_future', 0)")
    s.close()
    with pytest.raises(SchemaVersionError):
        SQLiteStore(tmp_path / "i.sqlite")


def test_keyword_search_sees_a_tenant_another_connection_created_after_open(tmp_path: Path) -> None:
    """An HTTP server's open store must find a tenant that `ragwright ingest --tenant` created later."""
    path = tmp_path / "i.sqlite"
    writer = SQLiteStore(path)
    writer.bind_embedder("m", 8)
    writer.upsert("t", *make_doc("a.md", ["first tenant words"]))
    reader = SQLiteStore(path)
    try:
        writer.upsert("late", *make_doc("b.md", ["the walrus sings at dawn"]))
        hits = reader.keyword_search("late", "walrus", 5)
        assert [c.doc_path for c in reader.get("late", [h.chunk_id for h in hits])] == ["b.md"]
        assert reader.keyword_search("nobody", "walrus", 5) == []
    finally:
        reader.close()
        writer.close()
