"""`ragwright serve`'s access log (uvicorn's, on by default) records the path without its query string, so a secret
that a client put in the URL (``?api_key=...``) never reaches the log. Checked on the real output of the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.http.conftest import serve_process

SECRET = "rw_0123456789ab_querystringsecretquerystringsecret"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_access_log_has_no_query_strings(tmp_path: Path, workers: str) -> None:
    with serve_process(tmp_path / "idx", "--workers", workers, "--log-level", "info") as served:
        url = served.url
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
    out = served.output
    logged = [line for line in out.splitlines() if '"GET ' in line]
    assert any('"GET /v1/documents HTTP/1.1" 401' in line for line in logged), out
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in logged), out
    assert SECRET not in out and "api_key" not in out and "?" not in "".join(logged)
