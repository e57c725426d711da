"""`ragwright migrate`: a data directory (index with vectors, keys, knowledge bases, jobs, the usage ledger) copied
into a real PostgreSQL, checked table by table, resumed after an interrupt, and refused into a database that holds
other data; bad URLs and unreachable servers are clear one-line errors without the password."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import ConfigError, StoreUnavailable, TargetNotEmpty
from ragwright.gateway.ledger import UsageLedger, UsageRecord
from ragwright.interfaces.http.job_store import Job, SQLiteJobStore
from ragwright.service.ended_sessions import SQLiteEndedSessions, open_ended_sessions
from ragwright.service.kbs import KnowledgeBases, store_tenant
from ragwright.service.keys import KeyStore, open_key_store
from ragwright.store.migrate import migrate
from ragwright.store.migrate_tables import REGISTRY, RowTable
from ragwright.testing.loopback_http import closed_port_url
from ragwright.testing.postgres import new_schema_dsn

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-docs"
LOGGED_OUT = "sid-ended-by-a-logout"


def _sample_data_dir(root: Path) -> tuple[Path, str]:
    """The sample documents indexed in two tenants, a key, a knowledge base, a job, ledger rows and a UI session
    ended by a logout; the raw key."""
    data = root / "data"
    settings = load_settings(data_dir=data, embedding={"model": "fake"})
    rw = Ragwright(settings)
    try:
        assert rw.ingest([SAMPLE], tags=("public",)).count("added") == 7
        rw.ingest([SAMPLE / "getting-started.md"], tenant=store_tenant("acme", "ops"))
    finally:
        rw.close()
    with KeyStore(data / "keys.sqlite") as keys:
        raw, _ = keys.create("acme", scopes=("read", "write"), tags=("public",), name="ci")
        _, old = keys.create("globex")
        keys.revoke(old.key_id)
    kbs = KnowledgeBases(data / "service.sqlite")
    kbs.add("acme", "ops")
    kbs.close()
    jobs = SQLiteJobStore(data / "service.sqlite")
    jobs.put(Job(id="job_1", tenant="acme", kb="ops", store_tenant="acme.ops", files=["a.md"], tags=("t",)))
    jobs.close()
    ledger = UsageLedger(data / "usage.sqlite")
    for i in range(3):
        ledger.record(
            UsageRecord(tenant="acme", model_requested="rag", model="fake:m", cost_usd=0.25 * i, cached=i == 1)
        )
    ledger.close()
    ended = SQLiteEndedSessions(data / "service.sqlite")
    asyncio.run(ended.end(LOGGED_OUT, until=time.time() + 8 * 3600))
    ended.close()
    return data, raw


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _sample_data_dir(tmp_path_factory.mktemp("migrate"))


def test_round_trip_of_the_sample_index_has_equal_checksums_and_searches_the_same(
    sample: tuple[Path, str], fresh_postgres_dsn: str
) -> None:
    data, raw = sample
    report = migrate(data, fresh_postgres_dsn, batch_size=3)
    by_table = {c.table: c for c in report.checks}
    assert report.ok and not report.resumed, [c for c in report.checks if not c.ok]
    assert {t for t, c in by_table.items() if not c.absent} == {
        "documents",
        "document_originals",
        "chunks",
        "postings",
        "tenants",
        "meta",
        "api_keys",
        "knowledge_bases",
        "jobs",
        "usage",
        "ui_ended_sessions",
    }
    assert by_table["documents"].target_rows == 8 and by_table["chunks"].target_rows > 8
    assert 0 < by_table["document_originals"].target_rows <= 8  # the PDFs and text files of the sample, not DOCX
    assert by_table["usage"].target_rows == 3 and by_table["api_keys"].target_rows == 2
    assert by_table["postings"].source_checksum == by_table["postings"].target_checksum != "0" * 32

    lite = Ragwright(load_settings(data_dir=data, embedding={"model": "fake"}))
    pg = Ragwright(load_settings(data_dir=data, store=fresh_postgres_dsn, embedding={"model": "fake"}))
    try:
        for query, mode in [("how do I reset my password", "hybrid"), ("warranty period", "bm25")]:
            a, b = lite.search(query, k=5, mode=mode), pg.search(query, k=5, mode=mode)  # type: ignore[arg-type]
            assert [h.chunk.chunk.id for h in a.hits] == [h.chunk.chunk.id for h in b.hits]
            assert np.allclose([h.score for h in a.hits], [h.score for h in b.hits], atol=1e-5)
        hit = pg.search("getting started", tenant="acme.ops", k=1).hits[0]
        assert hit.chunk.doc_path.endswith("getting-started.md")
        assert pg.search("getting started", tenant="acme", k=1).hits == []  # tenants stay apart
        # the copied vectors are the source's bytes: nothing was re-embedded
        cid = hit.chunk.chunk.id
        assert (
            lite.store.get_vectors("acme.ops", [cid])[cid].tobytes()
            == pg.store.get_vectors("acme.ops", [cid])[cid].tobytes()
        )
    finally:
        lite.close()
        pg.close()
    with open_key_store(load_settings(store=fresh_postgres_dsn)) as keys:  # a key made before the move still works
        key = keys.verify(raw)
        assert key is not None and key.tenant == "acme" and key.tags == ("public",) and key.allows("write")
        assert [k.revoked for k in keys.list()] == [False, True]
    # a session ended by a logout before the move stays ended: its cookie, signed by the same secret, is still refused
    ended = open_ended_sessions(load_settings(data_dir=data, store=fresh_postgres_dsn), redis=None)
    try:
        assert asyncio.run(ended.is_ended(LOGGED_OUT)) and not asyncio.run(ended.is_ended("another-session"))
    finally:
        ended.close()


def test_an_interrupted_migration_resumes_where_it_stopped(sample: tuple[Path, str], fresh_postgres_dsn: str) -> None:
    data, _ = sample
    seen: list[tuple[str, int]] = []

    def interrupt(item: str, rows: int) -> None:
        seen.append((item, rows))
        if item == "index.documents" and len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(data, fresh_postgres_dsn, batch_size=1, on_batch=interrupt)
    with psycopg.connect(fresh_postgres_dsn) as conn:
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 3  # three committed batches
    report = migrate(data, fresh_postgres_dsn, batch_size=2)
    assert report.resumed and report.ok, [c for c in report.checks if not c.ok]
    assert {c.table: c.target_rows for c in report.checks}["documents"] == 8  # nothing copied twice


def test_a_target_holding_other_data_is_refused(
    sample: tuple[Path, str], fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    data, _ = sample
    with open_key_store(load_settings(store=fresh_postgres_dsn)) as keys:
        keys.create("someone")
    with pytest.raises(TargetNotEmpty, match=r"api_keys"):
        migrate(data, fresh_postgres_dsn)
    other = tmp_path / "other"
    other.mkdir()
    done = new_schema_dsn(fresh_postgres_dsn.split("?")[0])
    migrate(data, done)
    with pytest.raises(TargetNotEmpty, match="is being migrated from"):
        migrate(other, done)
    assert migrate(data, done).ok  # rerunning the finished migration only checks again


def test_bad_url_and_unreachable_server_are_clear_errors_without_the_password(sample: tuple[Path, str]) -> None:
    data, _ = sample
    with pytest.raises(ConfigError, match="postgresql://"):
        migrate(data, "mysql://u:p@h/db")
    with pytest.raises(ConfigError, match="not a valid") as bad:
        migrate(data, "postgresql://u:s3cret-pg-password@h/db?bogus_option=1")
    assert "s3cret" not in str(bad.value)
    dsn = closed_port_url().replace("http://", "postgresql://rag:s3cret-pg-password@") + "/db"
    with pytest.raises(StoreUnavailable) as down:
        migrate(data, dsn, timeout_s=2)
    assert "s3cret-pg-password" not in str(down.value) and "cannot reach PostgreSQL at postgresql://127.0.0.1" in str(
        down.value
    )


def test_a_table_another_component_registers_is_copied_and_checked(
    sample: tuple[Path, str], fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "prompts.sqlite")
    db.execute("CREATE TABLE prompt_versions (name TEXT, version INTEGER, body TEXT, created REAL, raw BLOB)")
    db.executemany(
        "INSERT INTO prompt_versions VALUES (?, ?, ?, ?, ?)",
        [("answer", i, f"v{i} «ü»", i / 3, bytes([i])) for i in range(7)],
    )
    db.commit()
    db.close()
    table = RowTable("prompt_versions", "prompts.sqlite")  # no PostgreSQL schema: a mirror table
    report = migrate(data, fresh_postgres_dsn, batch_size=2, tables=[*REGISTRY, table])
    check = {c.table: c for c in report.checks}
    assert report.ok and check["prompt_versions"].target_rows == 7 and check["documents"].absent


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "ragwright", "migrate", *args],
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_cli_killed_mid_copy_resumes_and_prints_the_comparison(fresh_postgres_dsn: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(300):
        (docs / f"n{i:03d}.md").write_text(f"# Note {i}\n\nThe kettle number {i} descales with citric acid.\n")
    rw = Ragwright(load_settings(data_dir=tmp_path / "data", embedding={"model": "fake"}))
    rw.ingest([docs])
    rw.close()
    proc = _cli(
        "--from",
        str(tmp_path / "data"),
        "--to",
        "env:PG_TARGET",
        "--batch-size",
        "1",
        env={"PG_TARGET": fresh_postgres_dsn},
    )
    with psycopg.connect(fresh_postgres_dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if conn.execute("SELECT to_regclass('documents')").fetchone()[0] is not None:
                if conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] >= 5:
                    break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        copied = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert 5 <= copied < 300
    again = _cli(
        "--from", str(tmp_path / "data"), "--to", "env:PG_TARGET", "--json", env={"PG_TARGET": fresh_postgres_dsn}
    )
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    report = json.loads(out)
    assert report["resumed"] and report["ok"]
    assert {t["table"]: t["target_rows"] for t in report["tables"]}["documents"] == 300
    table = _cli("--from", str(tmp_path / "data"), "--to", "env:PG_TARGET", env={"PG_TARGET": fresh_postgres_dsn})
    out, _ = table.communicate(timeout=120)
    assert table.returncode == 0 and "postings" in out and "ok" in out and "DIFFERS" not in out


def test_cli_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    bad = _cli("--from", str(tmp_path / "data"), "--to", "sqlite:///x")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "postgresql://" in err and "Traceback" not in err
    dsn = closed_port_url().replace("http://", "postgresql://rag:s3cret-pg-password@") + "/db"
    down = _cli("--from", str(tmp_path / "data"), "--to", dsn)
    _, err = down.communicate(timeout=60)
    assert down.returncode == 1 and "cannot reach PostgreSQL" in err and "s3cret" not in err


def test_a_copied_tenant_past_the_hnsw_size_gets_its_vector_index(
    sample: tuple[Path, str], fresh_postgres_dsn: str
) -> None:
    from ragwright.config import PostgresSettings
    from ragwright.store.postgres_vectors import index_name

    data, _ = sample
    report = migrate(data, fresh_postgres_dsn, postgres=PostgresSettings(hnsw_min_chunks=10))
    assert report.ok
    with psycopg.connect(fresh_postgres_dsn) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'chunks'")}
    assert index_name("default") in indexes  # the sample's 7 documents: more than 10 chunks
    assert index_name("acme.ops") not in indexes  # one document: under the size, searched exactly
