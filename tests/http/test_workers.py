"""Several server processes: jobs are answered by any of them, knowledge bases reach all of them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ragwright.interfaces.http.jobs import Job, JobRunner, JobStore
from tests.http.conftest import make_settings


def test_a_job_is_readable_through_another_runner_and_a_dead_owner_fails_it(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "service.sqlite")
    settings = make_settings(tmp_path / "idx")
    mine, other = JobRunner(settings, store=store), JobRunner(settings, store=JobStore(tmp_path / "service.sqlite"))
    job_dir = tmp_path / "up"
    job_dir.mkdir()
    (job_dir / "a.md").write_text("# A\n\nAlpha.\n", encoding="utf-8")
    job = mine.submit(mine.new_id(), tenant="acme", kb="default", store_tenant="acme", job_dir=job_dir,
                      files=["a.md"], tags=())
    seen = other.get(job.id, tenant="acme")
    assert seen is not None and seen.files == ["a.md"] and other.get(job.id, tenant="globex") is None
    deadline = time.monotonic() + 60
    while (seen := other.get(job.id, tenant="acme")) is not None and seen.status != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    mine.close()
    other.close()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.put(Job(id="job_orphan", tenant="acme", kb="default", store_tenant="acme", files=["b.md"], tags=(),
                  status="running", owner=dead.pid))
    orphan = JobRunner(settings, store=store).get("job_orphan", tenant="acme")
    assert orphan is not None and orphan.status == "failed" and "stopped" in (orphan.error or "")
    store.close()


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_DATA_DIR=str(tmp_path / "idx"))
    exe = [sys.executable, "-m", "ragwright"]
    key = subprocess.run([*exe, "keys", "create", "--tenant", "acme", "--scopes", "write"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    proc = subprocess.Popen([*exe, "serve", "--port", "0", "--workers", "2", "--no-access-log"], env=env,
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stderr is not None
        url, started = None, 0
        deadline = time.monotonic() + 90
        while (url is None or started < 2) and time.monotonic() < deadline:
            line = proc.stderr.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = url or (found.group(1) if found else None)
            started += "Application startup complete" in line
        assert url and started == 2
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: both processes answer
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=fresh, timeout=30) as c:
            job = c.post("/v1/documents", files=[("files", ("a.md", b"# A\n\nAlpha rockets.\n"))],
                         data={"knowledge_base": "space"}).json()
            while job["status"] in ("queued", "running"):
                time.sleep(0.05)
                r = c.get(f"/v1/jobs/{job['id']}")
                assert r.status_code == 200, r.text
                job = r.json()
            assert job["status"] == "succeeded"
            time.sleep(1.1)  # the other process notices the new knowledge base within a second
            for _ in range(8):
                hits = c.post("/v1/search", json={"query": "alpha rockets", "knowledge_base": "space",
                                                  "mode": "bm25"}).json()["hits"]
                assert [h["doc_id"] for h in hits] == ["a.md"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
