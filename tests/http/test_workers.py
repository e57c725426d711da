"""Several server processes: jobs are answered by any of them, knowledge bases reach all of them, and they share the
per-key rate limit and the Prometheus counts."""

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

from ragwright.interfaces.http.job_api import Submission
from ragwright.interfaces.http.job_store import SQLiteJobStore
from ragwright.interfaces.http.jobs import Job, JobRunner
from tests.http.conftest import make_settings


def test_a_job_is_readable_through_another_runner_and_a_dead_owner_fails_it(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "service.sqlite")
    settings = make_settings(tmp_path / "idx")
    mine, other = (
        JobRunner(settings, store=store),
        JobRunner(settings, store=SQLiteJobStore(tmp_path / "service.sqlite")),
    )
    job_dir = tmp_path / "up"
    job_dir.mkdir()
    (job_dir / "a.md").write_text("# A\n\nAlpha.\n", encoding="utf-8")
    job = mine.submit(Submission(mine.new_id(), "acme", "default", "acme", job_dir=job_dir, files=("a.md",), tags=()))
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
    store.put(
        Job(
            id="job_orphan",
            tenant="acme",
            kb="default",
            store_tenant="acme",
            files=["b.md"],
            tags=(),
            status="running",
            owner=dead.pid,
        )
    )
    orphan = JobRunner(settings, store=store).get("job_orphan", tenant="acme")
    assert orphan is not None and orphan.status == "failed" and "stopped" in (orphan.error or "")
    store.close()


def _start_two_workers(tmp_path: Path, **extra_env: str) -> tuple[subprocess.Popen[str], str, str]:
    """`ragwright serve --workers 2` on a free port: the process, its URL and a write key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGWRIGHT_", "PROMETHEUS_"))}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_DATA_DIR=str(tmp_path / "idx"), **extra_env)
    exe = [sys.executable, "-m", "ragwright"]
    key = subprocess.run(
        [*exe, "keys", "create", "--tenant", "acme", "--scopes", "write"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    proc = subprocess.Popen(
        [*exe, "serve", "--port", "0", "--workers", "2", "--no-access-log"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    url, started = None, 0
    deadline = time.monotonic() + 90
    while (url is None or started < 2) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        url = url or (found.group(1) if found else None)
        started += "Application startup complete" in line
    if not (url and started == 2):
        os.killpg(proc.pid, signal.SIGINT)
        raise AssertionError(f"the server did not start: {proc.communicate(timeout=60)[1]}")
    return proc, url, key


def _stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path: Path) -> None:
    proc, url, key = _start_two_workers(tmp_path)
    try:
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: both processes answer
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=fresh, timeout=30) as c:
            job = c.post(
                "/v1/documents",
                files=[("files", ("a.md", b"# A\n\nAlpha rockets.\n"))],
                data={"knowledge_base": "space"},
            ).json()
            deadline = time.monotonic() + 120  # a bound, so a job that never ends fails instead of hanging
            while job["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, job
                time.sleep(0.05)
                r = c.get(f"/v1/jobs/{job['id']}")
                assert r.status_code == 200, r.text
                job = r.json()
            assert job["status"] == "succeeded"
            # no wait: the other process's open store looks up a knowledge base it does not know yet on first use
            for _ in range(8):
                hits = c.post(
                    "/v1/search", json={"query": "alpha rockets", "knowledge_base": "space", "mode": "bm25"}
                ).json()["hits"]
                assert [h["doc_id"] for h in hits] == ["a.md"]
    finally:
        _stop(proc)


def _total(text: str, name: str, *, skip_route: str | None = None) -> float:
    """The sum of a metric's samples in Prometheus text, leaving out one route's."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if skip_route is None or f'route="{skip_route}"' not in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_workers_share_the_rate_limit_and_the_metrics(tmp_path: Path) -> None:
    proc, url, key = _start_two_workers(tmp_path, RAGWRIGHT_SERVICE__RATE_LIMIT_RPM="5")
    try:
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: both processes answer
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=fresh, timeout=30) as c:
            codes = [c.get("/v1/jobs/job_none").status_code for _ in range(10)]
            assert codes == [404] * 5 + [429] * 5  # whichever worker answers, the key has 5 requests a minute
            assert (tmp_path / "idx" / "ratelimit.sqlite").is_file()
            deadline = time.monotonic() + 60  # a worker counts a request just after sending its response: wait for it
            while time.monotonic() < deadline:
                text = c.get("/metrics").text
                if _total(text, "ragwright_http_requests_total", skip_route="/metrics") >= 10:
                    break
                time.sleep(0.05)
            for _ in range(6):  # every scrape adds up both workers' counts
                text = c.get("/metrics").text
                assert _total(text, "ragwright_http_requests_total", skip_route="/metrics") == 10, text
                assert _total(text, "ragwright_http_rate_limited_total") == 5, text
                # This scrape, and maybe the previous one if its worker has not finished counting it yet.
                assert _total(text, "ragwright_http_requests_in_flight") in (1, 2), text
    finally:
        _stop(proc)
