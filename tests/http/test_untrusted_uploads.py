"""Uploads are parsed by the ingest worker under limits: an address-space cap, the zip guard, typed reasons."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ragwright.testing.bombs import docx_bomb
from tests.http.conftest import Server


def _limit(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            return line[len(name) :].split()[0]
    raise AssertionError(name)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_ingest_worker_runs_under_an_address_space_limit(server: Server) -> None:
    key = server.key()
    assert server.upload(key, {"a.md": b"# A\n\nAlpha rockets.\n"})["status"] == "succeeded"
    pid = server.app.state.service.jobs._proc.pid
    assert int(_limit(pid, "Max address space")) == server.settings.ingest.worker_memory_mb * 2**20


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_uploaded_zip_bomb_fails_alone_with_the_limit_named(server: Server) -> None:
    key = server.key()
    job = server.upload(key, {"bomb.docx": docx_bomb(512 * 2**20), "ok.md": b"# OK\n\nKettles are fine.\n"})
    assert job["status"] == "succeeded" and job["result"]["added"] == 1
    [failure] = job["result"]["failures"]
    assert failure["path"] == "bomb.docx" and "64 MiB per entry" in failure["reason"]
    pid = server.app.state.service.jobs._proc.pid
    hwm = next(int(x.split()[1]) for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM"))
    assert hwm < 1024 * 1024  # kB: the worker never came near 1 GB
