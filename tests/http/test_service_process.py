"""The service as processes: `ragwright serve` started from the CLI, the ingest worker dying mid-job, timeouts."""

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

from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, Reply, ScriptedGateway
from tests.http.conftest import Server, clean_env, make_settings, run_server


@pytest.mark.slow
def test_ragwright_keys_and_serve_from_the_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_DATA_DIR=str(tmp_path / "idx"))
    exe = [sys.executable, "-m", "ragwright"]
    key = subprocess.run(
        [*exe, "keys", "create", "--tenant", "acme", "--scopes", "read,write"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert re.fullmatch(r"rw_[0-9a-f]{12}_\S+", key)
    proc = subprocess.Popen(
        [*exe, "serve", "--port", "0", "--no-access-log"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        url = None
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, "serve did not report its address"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            assert c.get("/healthz").json() == {"status": "ok"}
            r = c.post("/v1/search", json={"query": "anything"})
            assert r.status_code == 200 and r.json()["hits"] == []
            assert (
                c.post("/v1/search", json={"query": "x"}, headers={"Authorization": "Bearer nope"}).status_code == 401
            )
            job = c.post("/v1/documents", files=[("files", ("a.md", b"# A\n\nAlpha rockets.\n"))]).json()
            while job["status"] in ("queued", "running"):
                time.sleep(0.05)
                job = c.get(f"/v1/jobs/{job['id']}").json()
            assert job["status"] == "succeeded"
            assert c.post("/v1/search", json={"query": "alpha rockets"}).json()["hits"][0]["doc_id"] == "a.md"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the server and its ingest worker alike
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_worker_crash_fails_the_running_job_and_the_next_job_gets_a_new_worker(server: Server) -> None:
    key = server.key()
    runner = server.app.state.service.jobs
    with server.client(key) as c:
        r = c.post("/v1/documents", files=[("files", ("a.md", b"# A\n\nAlpha text about rockets.\n"))])
        job_id = r.json()["id"]
        os.kill(runner._proc.pid, signal.SIGKILL)  # still importing: the job was handed over but not started
        deadline = time.monotonic() + 30
        while (job := c.get(f"/v1/jobs/{job_id}").json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert job["status"] == "failed" and "exited unexpectedly" in job["error"]
    assert job["error"].endswith(f"(exit code {-signal.SIGKILL})")
    again = server.upload(key, {"a.md": b"# A\n\nAlpha text about rockets.\n"})
    assert again["status"] == "succeeded" and again["result"]["added"] == 1


def test_slow_model_gets_504_upstream_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that does not answer within the request deadline is an upstream timeout: 504, as the proxy says."""
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    models = {"fake:slow": FakeChatModel([Reply("late", delay=300)], name="fake:slow", cycle=True)}
    app = create_app(make_settings(tmp_path / "idx", request_timeout=0.3), gateway=ScriptedGateway(models))
    raw, _ = app.state.service.keys.create("acme")
    for url in run_server(app):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}, timeout=30) as c:
            started = time.monotonic()
            r = c.post(
                "/v1/chat/completions", json={"model": "fake:slow", "messages": [{"role": "user", "content": "hi"}]}
            )
            assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"
            assert time.monotonic() - started < 60  # the request deadline (0.3 s), not the model's 300 s
            r = c.post(
                "/v1/chat/completions",
                json={"model": "fake:slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
            )
            assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"
