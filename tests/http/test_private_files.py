"""Everything ragwright creates under its data directory is private to its user: directories 0700, files 0600 (the
index, service.sqlite, keys, the usage ledger, the shared rate-limit file, uploads, SQLite's -wal/-shm files), even
under the common umask 022. Checked on a real `serve` app after uploads, searches, a gateway chat and an MCP ingest."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.schemas import IngestArgs
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.private_files import open_private, private_dir, private_file
from tests.http.conftest import Server, clean_env, run_server


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


def test_everything_under_data_dir_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    data_dir = tmp_path / "data"
    settings = load_settings(
        data_dir=data_dir,
        embedding={"model": "fake"},
        service={"rate_limit_rpm": 1000, "rate_limit_storage": "sqlite://"},
        gateway={"ledger": True, "chain": ["fake:echo"]},
    )
    app = create_app(settings)
    for url in run_server(app):
        server = Server(app, url, settings)
        key = server.key()
        assert server.upload(key, {"a.md": b"# A\n\nThe otter swims.\n"})["status"] == "succeeded"
        upload = server.client(key).post("/v1/documents", files=[("files", ("b.md", b"# B\n\nBeavers build.\n"))])
        assert upload.status_code == 202  # its upload directory exists while the job waits or runs
        with server.client(key) as c:
            assert c.post("/v1/search", json={"query": "otter"}).json()["hits"]
        chat = OpenAI(base_url=f"{url}/v1", api_key=key).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "ping"}]
        )
        assert chat.choices[0].message.content
        deadline = time.monotonic() + 120  # the second upload's job, before the server stops
        while server.app.state.service.jobs.pending():
            assert time.monotonic() < deadline, "the upload's job did not finish"
            time.sleep(0.05)
    rw = Ragwright(settings)
    try:
        import anyio

        anyio.run(
            RagTools(rw).ingest,
            local_key("acme", scopes=("read", "write")),
            IngestArgs(filename="c.md", text="# C\n\nCranes fly.", knowledge_base="kb2"),
        )
    finally:
        rw.close()
    modes = _modes(data_dir)
    for name in ("index.sqlite", "service.sqlite", "keys.sqlite", "usage.sqlite", "ratelimit.sqlite", "uploads"):
        assert name in modes, sorted(modes)
    wrong = {p: m for p, m in modes.items() if m != ("0o700" if (data_dir / p).is_dir() else "0o600")}
    assert wrong == {}
