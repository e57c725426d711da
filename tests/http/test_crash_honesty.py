"""Crash honesty with real processes and real SIGKILLs: job state matches the index, queued jobs survive a server
restart, uploads are removed when a job ends, and an orphaned worker dies with its server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import Server, both_backends


def _corpus(n: int, words: int = 6000) -> dict[str, bytes]:
    """``n`` Markdown files big enough that the fake-embedder worker needs a moment for each."""
    body = " ".join(f"w{i % 997}x{i % 13}" for i in range(words))
    return {f"doc{i:02d}.md": f"# Doc {i}\n\n{body} unique{i}.\n".encode() for i in range(n)}


def _poll(what: Callable[[], Any], deadline: float = 60.0, step: float = 0.02) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if value := what():
            return value
        time.sleep(step)
    raise AssertionError("condition not met before the deadline")


def _documents(c: httpx.Client, kb: str = "default") -> set[str]:
    r = c.get("/v1/documents", params={"knowledge_base": kb, "limit": 1000})
    return {d["id"] for d in r.json()["data"]} if r.status_code == 200 else set()


def _finished(c: httpx.Client, job_id: str) -> dict[str, Any] | None:
    job: dict[str, Any] = c.get(f"/v1/jobs/{job_id}").json()
    return job if job["status"] in ("succeeded", "failed") else None


@both_backends
def test_worker_sigkill_mid_job_leaves_a_result_that_matches_the_index(server: Server) -> None:
    key = server.key()
    runner = server.app.state.service.jobs
    with server.client(key) as c:
        files = _corpus(40)
        r = c.post(
            "/v1/documents", files=[("files", (n, b)) for n, b in files.items()], data={"knowledge_base": "crash"}
        )
        job_id = r.json()["id"]
        _poll(lambda: len(_documents(c, "crash")) >= 2)
        os.kill(runner._proc.pid, signal.SIGKILL)
        job = _poll(lambda: _finished(c, job_id))
        committed = _documents(c, "crash")
        assert job["status"] == "failed" and "exited unexpectedly" in job["error"]
        assert 2 <= len(committed) < 40
        assert job["result"] is not None and job["result"]["added"] == len(committed)
        assert job["progress"]["files_done"] == len(committed)
        assert {f["path"] for f in job["result"]["failures"]} == set(files) - committed
        assert "rag:crash" in {m["id"] for m in c.get("/v1/models").json()["data"]}
        assert not (server.settings.data_dir / "uploads" / job_id).exists()


# -- the server itself killed ------------------------------------------------------------------------------------


@contextmanager
def _serve(data_dir: Path, store: str = "sqlite") -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_DATA_DIR=str(data_dir), RAGWRIGHT_STORE=store)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "serve", "--port", "0", "--no-access-log"],
        env=env,
        cwd=data_dir.parent,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        url = None
        end = time.monotonic() + 60
        while url is None and time.monotonic() < end:
            found = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stderr.readline())
            url = found.group(1) if found else None
        assert url, "serve did not report its address"
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@both_backends
def test_server_sigkill_mid_job_orphan_worker_dies_running_job_reconciled_queued_job_runs(
    tmp_path: Path, backend: str
) -> None:
    data_dir = tmp_path / "idx"
    data_dir.mkdir()
    from ragwright.config import load_settings
    from ragwright.service.keys import open_key_store

    with open_key_store(load_settings(data_dir=data_dir, store=backend)) as keys:
        key = keys.create("acme", scopes=("read", "write"))[0]
    auth = {"Authorization": f"Bearer {key}"}
    files = _corpus(40)
    with _serve(data_dir, backend) as (proc, url), httpx.Client(base_url=url, headers=auth, timeout=30) as c:
        running = c.post("/v1/documents", files=[("files", (n, b)) for n, b in files.items()]).json()["id"]
        queued = c.post("/v1/documents", files=[("files", ("late.md", b"# Late\n\nThe queued job ran.\n"))]).json()
        assert queued["status"] == "queued"
        _poll(lambda: len(_documents(c)) >= 2)
        [worker] = [p for p in _children(proc.pid) if b"worker" in Path(f"/proc/{p}/cmdline").read_bytes()]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    _poll(lambda: _gone(worker), deadline=60)  # the orphaned worker noticed its server was gone and stopped
    assert (data_dir / "uploads" / queued["id"]).exists()
    with _serve(data_dir, backend) as (_, url), httpx.Client(base_url=url, headers=auth, timeout=30) as c:
        job = _poll(lambda: _finished(c, running))
        committed = _documents(c) - {"late.md"}
        assert job["status"] == "failed" and "stopped" in job["error"]
        assert job["result"]["added"] == len(committed) == job["progress"]["files_done"]
        assert {f["path"] for f in job["result"]["failures"]} == set(files) - committed
        late = _poll(lambda: _finished(c, queued["id"]))
        assert late["status"] == "succeeded" and late["result"]["added"] == 1
        assert c.post("/v1/search", json={"query": "queued job ran"}).json()["hits"][0]["doc_id"] == "late.md"
        _poll(
            lambda: not (data_dir / "uploads" / running).exists() and not (data_dir / "uploads" / queued["id"]).exists()
        )
    if backend != "sqlite":  # index, keys, knowledge bases, jobs and ledger lived in PostgreSQL, not in these files
        written = {p.name for p in data_dir.iterdir()}
        assert not written & {"index.sqlite", "keys.sqlite", "service.sqlite", "usage.sqlite"}, written
