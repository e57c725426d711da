"""Prewarm on the real server: ``PostgresStore.prewarm`` and ``[postgres] prewarm`` put the HNSW index and the chunk
rows into shared buffers (checked with ``pg_buffercache`` after evicting them), and a user who may not create the
extension gets a StoreError from the call and a store that still opens."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import pytest

from ragwright.config import PostgresSettings
from ragwright.errors import StoreError
from ragwright.store.postgres import PostgresStore
from ragwright.store.postgres_vectors import index_name
from tests.store.conftest import new_schema_dsn
from tests.store.test_postgres_vectors import DIM, _doc

HNSW_AT_ONCE = PostgresSettings(hnsw_min_chunks=1)


def _filled(dsn: str) -> PostgresStore:
    """Two tenants, each with its HNSW index (built by the first write: ``hnsw_min_chunks = 1``)."""
    store = PostgresStore(dsn, pool_max=2, settings=HNSW_AT_ONCE)
    store.bind_embedder("m", DIM)
    rng = np.random.default_rng(3)
    for tenant in ("acme", "globex"):
        store.upsert(tenant, *_doc(f"{tenant}.md", 300, rng))
    return store


def _resident(conn: psycopg.Connection, relation: str) -> int:
    """Blocks of ``relation`` (in the connection's search_path) now in shared buffers."""
    row = conn.execute(
        "SELECT count(*) FROM pg_buffercache b JOIN pg_class c ON b.relfilenode = pg_relation_filenode(c.oid)"
        " AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " WHERE c.oid = to_regclass(%s)",
        (relation,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _evict(conn: psycopg.Connection, relation: str) -> None:
    conn.execute("SELECT pg_buffercache_evict_relation(to_regclass(%s))", (relation,))
    assert _resident(conn, relation) == 0


@pytest.fixture
def schema_dsn(postgres_dsn: str) -> str:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
    return new_schema_dsn(postgres_dsn)


def test_prewarm_reads_the_tables_then_every_hnsw_index_into_shared_buffers(schema_dsn: str) -> None:
    store = _filled(schema_dsn)
    indexes = sorted(index_name(t) for t in ("acme", "globex"))
    with psycopg.connect(schema_dsn, autocommit=True) as conn:
        for relation in ("chunks", *indexes):
            _evict(conn, relation)
        report = store.prewarm()
        names = [r.name for r in report.relations]
        toast = conn.execute("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'chunks'::regclass")
        toast_table = toast.fetchone()[0]  # type: ignore[index]
        tables = ["documents_pkey", "documents", "chunks_by_id", f"{toast_table}_index", toast_table, "chunks"]
        assert names == [*tables, *indexes]  # the graph last
        for r in report.relations:
            size = conn.execute("SELECT pg_relation_size(to_regclass(%s)) / 8192", (r.name,)).fetchone()
            assert size is not None and r.blocks == size[0]
            assert r.blocks > 0 or r.name.startswith("pg_toast.")  # short texts and inline vectors: TOAST is empty
        for relation in ("chunks", *indexes):
            assert _resident(conn, relation) == next(r.blocks for r in report.relations if r.name == relation)
    assert report.fits and report.shared_buffers_mb > report.megabytes > 0
    assert report.to_dict()["fits"] is True
    store.close()


def test_the_setting_prewarms_when_the_store_opens_and_leaves_it_off_by_default(schema_dsn: str) -> None:
    _filled(schema_dsn).close()
    index = index_name("acme")
    with psycopg.connect(schema_dsn, autocommit=True) as conn:
        _evict(conn, index)
        PostgresStore(schema_dsn, pool_max=1, settings=HNSW_AT_ONCE).close()
        assert _resident(conn, index) == 0  # off by default: opening reads nothing
        PostgresStore(schema_dsn, pool_max=1, settings=PostgresSettings(hnsw_min_chunks=1, prewarm=True)).close()
        assert _resident(conn, index) > 0


def test_a_user_who_may_not_create_the_extension_gets_a_store_error_and_the_store_still_opens(
    postgres_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh database (no pg_prewarm in it yet) owned by a role that is not a superuser."""
    name = "prewarm_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    parts = urlsplit(postgres_dsn)
    admin_dsn = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")  # as the operator would; pg_prewarm is left out
    user_dsn = urlunsplit(parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port}", path=f"/{name}"))
    try:
        store = _filled(user_dsn)
        with pytest.raises(StoreError, match="CREATE EXTENSION pg_prewarm"):
            store.prewarm()
        store.close()
        with caplog.at_level(logging.WARNING, logger="ragwright.store.postgres_prewarm"):
            opened = PostgresStore(user_dsn, pool_max=1, settings=PostgresSettings(hnsw_min_chunks=1, prewarm=True))
        assert opened.stats("acme").chunks == 300  # opened and usable
        assert any("prewarm of" in r.getMessage() for r in caplog.records)
        opened.close()
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"DROP ROLE IF EXISTS {name}")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    return subprocess.run(
        [sys.executable, "-m", "ragwright", "store", "prewarm", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_prewarms_the_configured_store_and_refuses_sqlite(schema_dsn: str, tmp_path: Path) -> None:
    _filled(schema_dsn).close()
    index = index_name("acme")
    with psycopg.connect(schema_dsn, autocommit=True) as conn:
        _evict(conn, index)
        done = _cli("--json", env={"RAGWRIGHT_STORE": "env:PG_DSN", "PG_DSN": schema_dsn})
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (
            report["relations"][-1]["name"] == max(index_name(t) for t in ("acme", "globex")) and report["fits"] is True
        )
        assert _resident(conn, index) > 0
    refused = _cli(env={"RAGWRIGHT_DATA_DIR": str(tmp_path)})
    assert refused.returncode == 2 and "postgresql://" in refused.stderr
