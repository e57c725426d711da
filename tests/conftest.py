"""Shared fixtures: settings pointing at a temporary index, the fake embedder wired through the real registry, and a
real PostgreSQL with pgvector and a real ``redis-server`` (one of each per pytest process, so each xdist worker has
its own; under ``CI=true`` one that cannot start fails the run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ragwright.app import Ragwright
from ragwright.config import RedisSettings, Settings, load_settings
from ragwright.testing.postgres import embedded_postgres, new_schema_dsn, start_failure

if TYPE_CHECKING:
    from ragwright.testing.redis_server import RedisServer


REDIS_TIMEOUT = 30.0
"""The tests' Redis command deadline (the most ``[redis] timeout`` allows). A Redis that is down fails at once
(connection refused or reset), so no test waits for it; a Redis that is up but slow must not fail a test: at load 27,
bursts of 40-150 concurrent calls through the 32-connection pool waited more than 5 s for a connection (503s)."""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("RAGWRIGHT_"):
            monkeypatch.delenv(key)
    return load_settings(data_dir=tmp_path / "index", embedding={"model": "fake"})


@pytest.fixture
def rw(settings: Settings) -> Ragwright:
    app = Ragwright(settings)
    yield app
    app.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of this process's PostgreSQL (database ``postgres``, extension ``vector`` created). Under ``CI=true``
    a server that cannot start fails the run; elsewhere the tests that need it are skipped with the reason."""
    try:
        server = embedded_postgres()
        dsn = server.__enter__()
    except Exception as exc:  # noqa: BLE001 - reported as a failure under CI, a skip elsewhere
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(start_failure(exc))
        pytest.skip(start_failure(exc))
    try:
        yield dsn
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def fresh_postgres_dsn(postgres_dsn: str) -> str:
    """A DSN whose ``search_path`` starts with a new empty schema, so every store it opens starts empty."""
    return new_schema_dsn(postgres_dsn)


def _redis_unavailable(reason: str) -> None:
    """Under ``CI=true`` a Redis that cannot start fails the run; elsewhere the Redis tests are skipped."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _started_redis() -> Iterator[RedisServer]:
    from ragwright.testing.redis_server import RedisServer

    try:
        server = RedisServer().start()
    except RuntimeError as exc:
        _redis_unavailable(f"cannot start redis-server: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """This pytest process's ``redis-server`` on a free loopback port (one per xdist worker), no persistence."""
    yield from _started_redis()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` for one test, which it may stop and start again."""
    yield from _started_redis()


@pytest.fixture
def redis_settings(redis_server: RedisServer) -> RedisSettings:
    """``[redis]`` settings on this process's server under a prefix of their own: tests never see each other's keys."""
    return RedisSettings(url=redis_server.url, prefix="t" + uuid.uuid4().hex[:12], timeout=REDIS_TIMEOUT)


def backend_store(kind: str, request: pytest.FixtureRequest) -> str:
    """The ``store`` setting for ``kind``: ``sqlite``, or a DSN of a fresh schema in this process's PostgreSQL."""
    if kind == "sqlite":
        return "sqlite"
    return new_schema_dsn(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The ``store`` setting of this test: ``sqlite`` unless parametrised (``tests.http.conftest.both_backends``)."""
    return backend_store(getattr(request, "param", "sqlite"), request)
