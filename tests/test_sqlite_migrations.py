"""One schema-evolution mechanism for every SQLite file: named migrations applied once, in a transaction, recorded by
name; files the previous code made (built here with raw SQL, as that code made them) upgrade cleanly."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from ragwright.errors import SchemaVersionError
from ragwright.gateway.ledger import UsageLedger, UsageRecord
from ragwright.interfaces.http.job_store import SQLiteJobStore
from ragwright.interfaces.http.jobs import Job
from ragwright.service.kbs import KnowledgeBases
from ragwright.service.keys import KeyStore
from ragwright.service.ratelimit_sqlite import SqliteWindow
from ragwright.sqlite_migrations import Schema, migrate
from ragwright.store.migrations import INDEX, m001_initial
from ragwright.store.sqlite import SQLiteStore


def recorded(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY name")]
    finally:
        db.close()


def raw(path: Path, script: str) -> None:
    db = sqlite3.connect(path)
    db.executescript(script)
    db.close()


# -- the mechanism ----------------------------------------------------------------------------------------------


def demo_schema(calls: list[str]) -> Schema:
    schema = Schema("demo")

    @schema.migration
    def m001_things(db: sqlite3.Connection) -> None:
        calls.append("m001")
        db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")

    @schema.migration
    def m002_name(db: sqlite3.Connection) -> None:
        calls.append("m002")
        db.execute("ALTER TABLE things ADD COLUMN name TEXT")

    return schema


def test_each_migration_applies_once_and_is_recorded_by_name(tmp_path: Path) -> None:
    calls: list[str] = []
    schema = demo_schema(calls)
    db = sqlite3.connect(tmp_path / "d.sqlite")
    assert migrate(db, schema) == ["demo.m001_things", "demo.m002_name"]
    assert migrate(db, schema) == []
    db.close()
    db = sqlite3.connect(tmp_path / "d.sqlite")
    assert migrate(db, schema) == []
    assert calls == ["m001", "m002"]
    assert [r[1] for r in db.execute("PRAGMA table_info(things)")] == ["id", "name"]
    assert db.isolation_level == ""  # the connection's transaction mode is given back
    db.close()
    assert recorded(tmp_path / "d.sqlite") == ["demo.m001_things", "demo.m002_name"]


def test_a_failing_migration_rolls_back_with_its_record(tmp_path: Path) -> None:
    schema = Schema("demo")

    @schema.migration
    def m001_half(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half (id INTEGER)")
        raise RuntimeError("boom")

    db = sqlite3.connect(tmp_path / "d.sqlite", isolation_level=None)
    with pytest.raises(RuntimeError, match="boom"):
        migrate(db, schema)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []
    assert db.execute("SELECT COUNT(*) FROM migrations").fetchone() == (0,)
    db.close()


def test_a_file_from_a_newer_version_is_refused_but_other_namespaces_are_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, demo_schema([]))
    db.execute("INSERT INTO migrations VALUES ('other.m007_unknown_to_demo', 0)")
    assert migrate(db, demo_schema([])) == []  # another component's migration in a shared file
    db.execute("INSERT INTO migrations VALUES ('demo.m003_from_the_future', 0)")
    with pytest.raises(SchemaVersionError, match="m003_from_the_future"):
        migrate(db, demo_schema([]), where=path)
    db.close()


def test_a_migration_name_cannot_be_defined_twice() -> None:
    schema = Schema("demo")
    schema.migration(lambda db: None)
    with pytest.raises(ValueError, match="twice"):
        schema.migration(lambda db: None)


# -- every SQLite file, upgraded from what the previous code made ---------------------------------------------------


def test_keys_file_from_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    with KeyStore(path) as fresh:  # a key made the supported way, so its hash is real
        raw_key, key = fresh.create("acme", ["read", "write"], name="old")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE migrations")  # what the previous code left: the table, no migration record
    db.commit()
    db.close()
    with KeyStore(path) as store:
        assert recorded(path) == ["keys.m001_api_keys"]
        verified = store.verify(raw_key)
        assert verified is not None and verified.key_id == key.key_id and verified.scopes == key.scopes
        store.create("acme", ["read"])
        assert len(store.list("acme")) == 2


def test_service_file_from_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "service.sqlite"
    job = Job(id="j1", tenant="acme", kb="default", store_tenant="acme", files=["a.md"], tags=("x",), status="running")
    raw(
        path,
        "CREATE TABLE knowledge_bases (tenant TEXT NOT NULL, kb TEXT NOT NULL, created_at REAL NOT NULL,"
        " PRIMARY KEY (tenant, kb));"
        "INSERT INTO knowledge_bases VALUES ('acme', 'handbook', 1.0);"
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, data TEXT NOT NULL, finished INTEGER NOT NULL,"
        " updated_at REAL NOT NULL);",
    )
    db = sqlite3.connect(path)
    db.execute("INSERT INTO jobs VALUES ('j1', 'acme', ?, 0, 1.0)", (json.dumps(dataclasses.asdict(job)),))
    db.commit()
    db.close()

    kbs = KnowledgeBases(path)
    jobs = SQLiteJobStore(path)  # two components, one file, one migrations table
    assert kbs.list("acme") == ["default", "handbook"]
    got = jobs.get("j1")
    assert got is not None and got.status == "running" and got.tags == ("x",)
    assert recorded(path) == ["jobs.m001_jobs", "kbs.m001_knowledge_bases"]
    kbs.add("acme", "wiki")
    assert kbs.list("acme") == ["default", "handbook", "wiki"]
    kbs.close()
    jobs.close()


def test_rate_limit_file_from_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.sqlite"
    raw(
        path,
        "CREATE TABLE rate_hits (key TEXT NOT NULL, at REAL NOT NULL);"
        "CREATE INDEX rate_hits_key_at ON rate_hits (key, at);"
        "INSERT INTO rate_hits VALUES ('k', 100.0), ('k', 101.0);",
    )
    window = SqliteWindow(path, amount=3, seconds=60, clock=lambda: 110.0)
    assert recorded(path) == ["ratelimit.m001_rate_hits"]
    assert window.hit("k") is True  # the two old hits still count: one slot was left
    assert window.hit("k") is False
    window.close()


def test_ledger_file_from_the_previous_version(tmp_path: Path) -> None:
    """The previous code created the table with cache_write_tokens already (no migrations table): m002 finds the
    column and adds nothing. (A ledger from before that column: tests/gateway/ledger/test_ledger_cache_writes.py.)"""
    path = tmp_path / "usage.sqlite"
    raw(
        path,
        """
        CREATE TABLE usage (
            ts REAL NOT NULL, tenant TEXT NOT NULL, key_id TEXT, model_requested TEXT NOT NULL, model TEXT,
            provider TEXT, input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_usd REAL, saved_usd REAL NOT NULL,
            cached INTEGER NOT NULL, latency_ms REAL NOT NULL, status TEXT NOT NULL, error_type TEXT,
            fallback TEXT NOT NULL, stream INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX usage_ts ON usage(ts);
        INSERT INTO usage VALUES (1.0, 'acme', NULL, 'rag', 'fake:a', 'fake', 10, 0, 5, 0, 0.1, 0.0, 0, 1.0, 'ok',
                                  NULL, '', 0, 7);
        """,
    )
    ledger = UsageLedger(path, flush_ms=10_000)
    ledger.record(UsageRecord(tenant="acme", model_requested="rag", input_tokens=3))
    assert ledger.flush()
    ledger.close()
    assert recorded(path) == ["ledger.m001_usage", "ledger.m002_cache_write_tokens", "ledger.m003_kb_prompt_request"]
    db = sqlite3.connect(path)
    assert db.execute("SELECT input_tokens, cache_write_tokens FROM usage ORDER BY rowid").fetchall() == [
        (10, 7),
        (3, 0),
    ]
    db.close()


def test_a_new_ledger_gets_every_column(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    ledger = UsageLedger(path, flush_ms=10_000)  # the file is made on the first write
    ledger.record(UsageRecord(tenant="acme", model_requested="rag"))
    assert ledger.flush()
    ledger.close()
    db = sqlite3.connect(path)
    columns = [r[1] for r in db.execute("PRAGMA table_info(usage)")]
    db.close()
    assert columns[-1] == "request_id" and len(columns) == len(dataclasses.fields(UsageRecord))


def test_index_file_from_the_previous_version(tmp_path: Path) -> None:
    """An index as the version with only m001 left it (its tables and the record) gains the later migrations."""
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    m001_initial(db)
    db.execute("INSERT INTO migrations VALUES ('m001_initial', 0)")
    db.close()
    store = SQLiteStore(path)
    assert store.stats("t").documents == 0
    store.close()
    assert recorded(path) == sorted(INDEX.names()) and "m001_initial" in INDEX.names()
    SQLiteStore(path).close()  # opening it again applies nothing
    assert recorded(path) == sorted(INDEX.names())


def test_judge_cache_from_the_previous_version(tmp_path: Path) -> None:
    from ragwright.evals.judge import _Cache

    path = tmp_path / "judge.sqlite"
    raw(
        path,
        "CREATE TABLE judge_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        """INSERT INTO judge_cache VALUES ('k', '{"score": 1}');""",
    )
    cache = _Cache(path)
    assert cache.get("k") == {"score": 1}
    cache.close()
    assert recorded(path) == ["judge.m001_judge_cache"]
