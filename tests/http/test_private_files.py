"""Everything ragwright creates under its data directory is private to its user: directories 0700, files 0600 (the
index, service.sqlite, keys, the usage ledger, the shared rate-limit file, uploads, SQLite's -wal/-shm files), even
under the common umask 022. Checked on a real `serve` app after uploads, searches, a gateway chat and an MCP ingest."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragwright.private_files import open_private, private_dir, private_file


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_helpers_create_private_paths(tmp_path: Path, umask_022: None) -> None:
    f = private_file(tmp_path / "a" / "b" / "x.sqlite")
    with open_private(tmp_path / "a" / "c" / "up.pdf") as out:
        out.write(b"%PDF")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_dir(shared / "mine")
    assert _modes(tmp_path / "a") == {
        ".": "0o700",
        "b": "0o700",
        "b/x.sqlite": "0o600",
        "c": "0o700",
        "c/up.pdf": "0o600",
    }
    assert f.read_bytes() == b"" and oct(stat.S_IMODE(shared.stat().st_mode)) == "0o755"  # not ours to change
    assert oct(stat.S_IMODE((shared / "mine").stat().st_mode)) == "0o700"
