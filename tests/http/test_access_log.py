"""`ragwright serve`'s access log (uvicorn's, on by default) records the path without its query string, so a secret
that a client put in the URL (``?api_key=...``) never reaches the log. Checked on the real output of the CLI."""

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

SECRET = "rw_0123456789ab_querystringsecretquerystringsecret"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_access_log_has_no_query_strings(tmp_path: Path, workers: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_DATA_DIR=str(tmp_path / "idx"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "serve", "--port", "0", "--workers", workers, "--log-level", "info"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            found = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            url = found.group(1) if found else None
        assert url, "serve did not report its address"
        deadline = time.monotonic() + 60  # with --workers, the parent binds before the workers have started
        while True:
            try:
                r = httpx.get(
                    f"{url}/v1/documents?limit=5&api_key={SECRET}", headers={"Authorization": "Bearer x"}, timeout=30
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "no worker answered"
                time.sleep(0.1)
        assert r.status_code == 401
        assert httpx.get(f"{url}/healthz?probe={SECRET}", timeout=30).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    logged = [line for line in out.splitlines() if '"GET ' in line]
    assert any('"GET /v1/documents HTTP/1.1" 401' in line for line in logged), out
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in logged), out
    assert SECRET not in out and "api_key" not in out and "?" not in "".join(logged)
