"""The PostgreSQL store passes the shared contract unchanged, against the real server of tests/store/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.errors import SchemaVersionError, StoreError
from ragwright.store.base import Store
from ragwright.store.postgres import PostgresStore
from ragwright.testing.store_contract import StoreContract, make_doc
from tests.store.conftest import new_schema_dsn


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_dsn: str) -> None:
        self._dsn = postgres_dsn

    def make_store(self, path: Path) -> Store:
        return PostgresStore(new_schema_dsn(self._dsn), pool_max=2)  # a fresh schema: every store starts empty


def test_reopening_keeps_data_and_refuses_a_newer_schema(fresh_postgres_dsn: str) -> None:
    s = PostgresStore(fresh_postgres_dsn)
    s.bind_embedder("m", 8)
    s.upsert("t", *make_doc("a.md", ["persisted words"]))
    s.close()
    s2 = PostgresStore(fresh_postgres_dsn)
    assert s2.embedding_model == "m" and s2.embedding_dim == 8
    assert len(s2.keyword_search("t", "persisted", 5)) == 1
    with s2._pool.connection() as conn:
        conn.execute("INSERT INTO migrations VALUES ('pg_index.m999_future', 0)")
    s2.close()
    with pytest.raises(SchemaVersionError):
        PostgresStore(fresh_postgres_dsn)


def test_failed_upsert_rolls_back_whole_document(fresh_postgres_dsn: str) -> None:
    s = PostgresStore(fresh_postgres_dsn)
    s.bind_embedder("m", 8)
    s.upsert("t", *make_doc("a.md", ["original text"]))
    doc, chunks, vecs = make_doc("a.md", ["new text", "more new text"], version="2")
    with pytest.raises(StoreError, match="rolled back"):
        s.upsert("t", doc, [chunks[0], chunks[0]], vecs)  # duplicate chunk id: fails mid-transaction
    assert [d.content_hash for d in s.documents("t")] == ["a.md:1"]
    assert len(s.keyword_search("t", "original", 5)) == 1 and s.keyword_search("t", "new", 5) == []
    assert s.stats("t").chunks == 1
    s.close()


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as err:
        PostgresStore("postgresql://u:s3cret@127.0.0.1:1/db", timeout_s=2)
    assert "s3cret" not in str(err.value)


def test_ragwright_with_a_postgres_store_answers_over_the_sample_docs(fresh_postgres_dsn: str, tmp_path: Path) -> None:
    from ragwright.app import Ragwright
    from ragwright.config import load_settings

    root = Path(__file__).resolve().parents[2]
    settings = load_settings(data_dir=tmp_path / "data", store=fresh_postgres_dsn, embedding={"model": "fake"})
    app = Ragwright(settings)
    try:
        assert isinstance(app.store, PostgresStore)
        report = app.ingest([root / "examples/sample-docs"])
        assert report.failures == [] and app.store.stats("default").documents == 7
        assert not (tmp_path / "data" / "index.sqlite").exists()  # nothing went to the SQLite default
        hits = app.search("What does error Q-214 mean?", k=3).hits
        assert hits[0].chunk.doc_path.endswith("troubleshooting.md") and "Q-214" in hits[0].chunk.chunk.text
        answer = app.ask("What does error Q-214 mean?", generator="extractive")
        assert not answer.abstained and "reallocated sectors" in answer.text
        assert answer.citations[0].doc_path.endswith("troubleshooting.md")
    finally:
        app.close()


def test_store_setting_is_validated_and_sqlite_stays_the_default() -> None:
    from ragwright.config import load_settings
    from ragwright.errors import ConfigError

    assert load_settings().store == "sqlite" and not load_settings().uses_postgres
    with pytest.raises(ConfigError):
        load_settings(store="mysql://u@h/db")
    assert load_settings(store="postgresql://u@h/db").uses_postgres


def test_cli_ingests_and_searches_through_the_store_setting(postgres_dsn: str, tmp_path: Path) -> None:
    """`RAGWRIGHT_STORE=env:VAR` points the CLI at PostgreSQL; nothing is written to the SQLite default."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env |= {
        "RAGWRIGHT_STORE": "env:PG_DSN",
        "PG_DSN": new_schema_dsn(postgres_dsn),
        "RAGWRIGHT_EMBEDDING__MODEL": "fake",
    }
    data = ["--data-dir", str(tmp_path / "data")]
    cmd = [sys.executable, "-m", "ragwright"]
    ing = subprocess.run(
        [*cmd, "ingest", str(root / "examples/sample-docs"), *data, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout)["failed"] == 0
    out = subprocess.run(
        [*cmd, "search", "error Q-214 reallocated sectors", *data, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "troubleshooting.md" in out.stdout
    assert not (tmp_path / "data" / "index.sqlite").exists()
