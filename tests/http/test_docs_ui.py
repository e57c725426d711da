"""/docs (Swagger UI) works offline: the page references only the service's own URLs, they serve the real assets, and
headless Chromium, with every host but 127.0.0.1 unresolvable, renders the API's operations."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragwright.interfaces.http.app import create_app
from tests.http.conftest import clean_env, make_settings, run_server


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    yield from run_server(create_app(make_settings(tmp_path / "index")))


def test_docs_page_and_its_assets_are_served_locally(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        page = c.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        refs = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
        assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
        assert "http://" not in page.text and "https://" not in page.text  # no CDN, no remote favicon
        kinds = {}
        for ref in refs:
            r = c.get(ref)
            assert r.status_code == 200, ref
            kinds[ref.rsplit(".", 1)[-1]] = (r.headers["content-type"], r.content)
        assert kinds["js"][0].startswith(("text/javascript", "application/javascript"))
        assert b"SwaggerUIBundle" in kinds["js"][1] and len(kinds["js"][1]) > 500_000
        assert kinds["css"][0].startswith("text/css") and b".swagger-ui" in kinds["css"][1]
        assert kinds["json"][1].startswith(b'{"openapi":"3.')
        assert c.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered
        assert "/docs" not in c.get("/openapi.json").json()["paths"]


@pytest.mark.slow
def test_docs_renders_the_operations_in_headless_chromium_offline(url: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (make test installs it)")
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline: only the service resolves
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{url}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = done.stdout
    assert "opblock-summary-path" in dom, (done.returncode, done.stderr[-2000:], dom[:2000])
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/v1/search", "/v1/chat/completions", "/v1/documents"} <= paths, paths
