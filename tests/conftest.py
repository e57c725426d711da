"""Shared fixtures: settings pointing at a temporary index, the fake embedder wired through the real registry, and a
real ``redis-server`` per pytest process (``redis_server``; under ``CI=true`` one that cannot start fails the run)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ragwright.app import Ragwright
from ragwright.config import RedisSettings, Settings, load_settings

if TYPE_CHECKING:
    from ragwright.testing.redis_server import RedisServer


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


def _redis_unavailable(reason: str) -> None:
    """Under ``CI=true`` a Redis that cannot start fails the run; elsewhere the Redis tests are skipped."""
    if __import__("os").environ.get("CI", "").lower() == "true":
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
    return RedisSettings(url=redis_server.url, prefix="t" + uuid.uuid4().hex[:12], timeout=5.0)
