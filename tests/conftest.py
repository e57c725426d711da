"""Shared fixtures: settings pointing at a temporary index, the fake embedder wired through the real registry, and a
real PostgreSQL with pgvector (one server per pytest process, so each xdist worker has its own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.config import Settings, load_settings
from ragwright.testing.postgres import embedded_postgres, new_schema_dsn, start_failure


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


def backend_store(kind: str, request: pytest.FixtureRequest) -> str:
    """The ``store`` setting for ``kind``: ``sqlite``, or a DSN of a fresh schema in this process's PostgreSQL."""
    if kind == "sqlite":
        return "sqlite"
    return new_schema_dsn(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The ``store`` setting of this test: ``sqlite`` unless parametrised (``tests.http.conftest.both_backends``)."""
    return backend_store(getattr(request, "param", "sqlite"), request)
