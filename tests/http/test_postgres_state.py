"""The service's state in PostgreSQL: keys, knowledge bases, jobs and the usage ledger behind the same seams as the
SQLite files, chosen by ``store = "postgresql://..."``; errors name the server, never the password."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ragwright.config import load_settings
from ragwright.errors import ConfigError, StoreUnavailable
from ragwright.gateway.ledger import UsageLedger, UsageRecord, open_usage_ledger
from ragwright.interfaces.http.job_store import Job, SQLiteJobStore, open_job_store
from ragwright.interfaces.http.state import ServiceState
from ragwright.service.kbs import KnowledgeBases, open_knowledge_bases, store_tenant
from ragwright.service.keys import KeyStore, hash_key, open_key_store
from ragwright.service.postgres_jobs import PostgresJobStore
from ragwright.service.postgres_kbs import PostgresKnowledgeBases
from ragwright.service.postgres_keys import PostgresKeyTable
from ragwright.service.postgres_ledger import PostgresLedgerTable
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import closed_port_url


def test_keys_in_postgres_store_only_the_hash_and_keep_tenant_scopes_tags(fresh_postgres_dsn: str) -> None:
    with KeyStore(PostgresKeyTable(fresh_postgres_dsn), cache_seconds=0) as keys:
        raw, key = keys.create("acme", scopes=("read", "write"), tags=("public",), name="ci")
        keys.create("globex")
        got = keys.verify(raw)
        assert got == key and got.tags == ("public",) and got.allows("write") and not got.allows("admin")
        assert keys.verify(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
        assert [k.tenant for k in keys.list("acme")] == ["acme"] and len(keys.list()) == 2
        assert keys.revoke(key.key_id) and not keys.revoke(key.key_id)
        assert keys.verify(raw) is None and keys.get(key.key_id).revoked  # type: ignore[union-attr]
    with psycopg.connect(fresh_postgres_dsn) as conn:
        stored = [r[0] for r in conn.execute("SELECT key_hash FROM api_keys")]
        everything = str(conn.execute("SELECT * FROM api_keys").fetchall())
    assert hash_key(raw) in stored and raw not in everything


def test_knowledge_bases_in_postgres_are_per_tenant_default_first(fresh_postgres_dsn: str) -> None:
    kbs = PostgresKnowledgeBases(fresh_postgres_dsn)
    try:
        for tenant, kb in [("acme", "zeta"), ("acme", "alpha"), ("acme", "alpha"), ("globex", "hr")]:
            kbs.add(tenant, kb)
        assert kbs.list("acme") == ["default", "alpha", "zeta"]
        assert kbs.list("globex") == ["default", "hr"] and kbs.list("initech") == ["default"]
    finally:
        kbs.close()


def _job(i: int, tenant: str = "acme") -> Job:
    return Job(id=f"job_{i}", tenant=tenant, kb="default", store_tenant=tenant, files=[f"f{i}.md"], tags=("t",))


def test_jobs_in_postgres_round_trip_and_exactly_one_process_claims_an_orphan(fresh_postgres_dsn: str) -> None:
    a, b = PostgresJobStore(fresh_postgres_dsn), PostgresJobStore(fresh_postgres_dsn)
    try:
        jobs = [_job(i) for i in range(3)]
        for job in jobs:
            a.put(job)
        a.put(dataclasses.replace(jobs[1], status="succeeded"))
        assert b.get("job_0") == jobs[0] and b.get("nope") is None
        assert [j.id for j in b.unfinished()] == ["job_0", "job_2"]  # oldest first, finished ones left out
        results: list[Job | None] = []
        threads = [
            threading.Thread(target=lambda s=s, o=o: results.append(s.claim(jobs[0], o, 1.0)))  # type: ignore[misc]
            for s, o in ((a, 111), (b, 222), (a, 333), (b, 444))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [r for r in results if r is not None]
        assert len(winners) == 1 and a.get("job_0") == winners[0]
        for i in range(3, 6):
            a.put(dataclasses.replace(_job(i), status="failed"))
        a.trim(2)
        assert a.get("job_1") is None and a.get("job_5") is not None
    finally:
        a.close()
        b.close()


def test_usage_ledger_batches_into_postgres(fresh_postgres_dsn: str) -> None:
    ledger = UsageLedger(PostgresLedgerTable(fresh_postgres_dsn), flush_ms=10)
    for i in range(5):
        ledger.record(
            UsageRecord(tenant="acme", model_requested="rag", model="fake:m", cost_usd=0.001 * i, cached=i == 2)
        )
    assert ledger.flush()
    ledger.close()
    assert ledger.stats.written == 5 and ledger.stats.lost == 0
    with psycopg.connect(fresh_postgres_dsn) as conn:
        n, cached, cost = conn.execute("SELECT COUNT(*), SUM(cached), SUM(cost_usd) FROM usage").fetchone()
    assert (n, cached) == (5, 1) and cost == pytest.approx(0.01)


def test_an_unreachable_ledger_loses_batches_quietly_and_never_logs_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dsn = closed_port_url().replace("http://", "postgresql://rag:s3cret-pg-password@") + "/db"
    ledger = UsageLedger(PostgresLedgerTable(dsn), flush_ms=10)
    with caplog.at_level(logging.WARNING, logger="ragwright.gateway.ledger"):
        ledger.record(UsageRecord(tenant="acme", model_requested="rag"))
        assert ledger.flush()
        ledger.close()
    assert ledger.stats.lost == 1 and ledger.stats.write_failures == 1
    assert "s3cret-pg-password" not in caplog.text and "cannot reach PostgreSQL" in caplog.text


def test_an_unreachable_server_is_a_typed_error_without_the_password() -> None:
    dsn = closed_port_url().replace("http://", "postgresql://rag:s3cret-pg-password@") + "/db"
    with pytest.raises(StoreUnavailable) as info:
        PostgresKeyTable(dsn)
    assert "s3cret-pg-password" not in str(info.value) and "127.0.0.1" in str(info.value)


def test_settings_choose_the_backend_and_refuse_a_key_file_with_postgres(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    lite = load_settings(data_dir=tmp_path / "lite")
    pg = load_settings(data_dir=tmp_path / "pg", store=fresh_postgres_dsn)
    for settings, kinds in (
        (lite, (KeyStore, KnowledgeBases, SQLiteJobStore)),
        (pg, (KeyStore, PostgresKnowledgeBases, PostgresJobStore)),
    ):
        keys, kbs, jobs = open_key_store(settings), open_knowledge_bases(settings), open_job_store(settings)
        assert isinstance(keys, kinds[0]) and isinstance(kbs, kinds[1]) and isinstance(jobs, kinds[2])
        ledger = open_usage_ledger(settings)
        assert isinstance(ledger.table, PostgresLedgerTable) == (settings is pg)
        for closable in (keys, kbs, jobs):
            closable.close()
    assert isinstance(open_key_store(pg)._table, PostgresKeyTable)  # noqa: SLF001
    assert not (tmp_path / "pg").exists()  # nothing of the PostgreSQL configuration went to a SQLite file
    with pytest.raises(ConfigError, match="keys_file"):
        open_key_store(load_settings(store=fresh_postgres_dsn, service={"keys_file": tmp_path / "k.sqlite"}))


def test_warm_up_on_postgres_searches_the_knowledge_bases_active_keys_reach(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    from ragwright.app import Ragwright

    settings = load_settings(data_dir=tmp_path / "d", store=fresh_postgres_dsn, embedding={"model": "fake"})
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# Note\n\nThe kettle descales with citric acid.\n", encoding="utf-8")
    rw = Ragwright(settings, embedder=FakeEmbedder())
    for tenant in ("acme", store_tenant("acme", "ops"), "orphan"):
        rw.ingest([docs], tenant=tenant)
    rw.close()
    state = ServiceState(settings, embedder=FakeEmbedder())
    try:
        state.keys.create("acme")
        state.kbs.add("acme", "ops")
        assert state.index_exists()
        assert state.warm_up() == ["acme", "acme.ops"]  # "orphan" has documents but no key reaches it
    finally:
        import asyncio

        asyncio.run(state.aclose())


def test_usage_report_from_postgres_matches_the_sqlite_report(fresh_postgres_dsn: str, tmp_path: Path) -> None:
    from datetime import date

    from ragwright.gateway.usage import summarize, summarize_ledger

    records = [
        UsageRecord(
            ts=1_790_000_000.0 + 86_400 * (i % 3),
            tenant=f"t{i % 2}",
            key_id=None if i % 4 else "k1",
            model_requested="rag",
            model="fake:m" if i % 5 else None,
            input_tokens=10 * i,
            output_tokens=i,
            cost_usd=None if i == 7 else 0.01 * i,
            cached=i % 3 == 0,
            status="error" if i == 4 else "ok",
        )
        for i in range(12)
    ]
    settings = load_settings(data_dir=tmp_path / "d", store=fresh_postgres_dsn)
    for sink in (tmp_path / "usage.sqlite", PostgresLedgerTable(fresh_postgres_dsn)):
        ledger = UsageLedger(sink, flush_ms=10)  # type: ignore[arg-type]
        for rec in records:
            ledger.record(rec)
        ledger.close()

    def rounded(rows: list[Any]) -> list[dict[str, Any]]:  # sums of floats in another order differ in the last bit
        return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.to_dict().items()} for r in rows]

    for by in ("model", "tenant", "key", "day"):
        lite = summarize(tmp_path / "usage.sqlite", by=by)  # type: ignore[arg-type]
        assert rounded(summarize_ledger(settings, by=by)) == rounded(lite) and lite  # type: ignore[arg-type]
    since = date(2026, 9, 22)
    assert rounded(summarize_ledger(settings, by="day", since=since)) == rounded(
        summarize(tmp_path / "usage.sqlite", by="day", since=since)
    )
