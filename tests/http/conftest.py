"""A real uvicorn server on 127.0.0.1 (port 0) running the service over a temporary index with the fake embedder.

The index and the service's state are in SQLite files by default; a test (or module) marked ``@both_backends`` runs
once more with everything in a fresh PostgreSQL schema (the ``backend`` fixture, parametrised indirectly).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from ragwright.config import Settings, load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.conftest import backend_store as _backend_store

BACKENDS = ("sqlite", "postgres")
both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
"""Run a test (or, as ``pytestmark``, a module) that uses ``server`` or ``backend`` on SQLite and on PostgreSQL."""


@dataclass
class Server:
    app: FastAPI
    url: str
    settings: Settings
    models: dict[str, FakeChatModel] = field(default_factory=dict)

    def key(self, tenant: str = "acme", scopes: tuple[str, ...] = ("read", "write"), tags: tuple[str, ...] = ()) -> str:
        raw, _ = self.app.state.service.keys.create(tenant, scopes=scopes, tags=tags)
        return str(raw)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def upload(self, key: str, files: dict[str, bytes], *, kb: str = "default", tags: str = "") -> dict[str, Any]:
        """Upload and wait for the job to finish; return the finished job."""
        with self.client(key) as c:
            r = c.post(
                "/v1/documents",
                files=[("files", (n, b)) for n, b in files.items()],
                data={"knowledge_base": kb, "tags": tags},
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job: dict[str, Any] = c.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed"):
                    return job
                time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")


def run_server(app: FastAPI) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


@dataclass
class ServeProcess:
    """A `ragwright serve` process, its URL, and (once stopped) everything it wrote."""

    proc: subprocess.Popen[str]
    url: str
    output: str = ""


@contextmanager
def serve_process(
    data_dir: Path, *args: str, fake_embedder: bool = True, env: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    """``ragwright serve --port 0 ARGS`` over ``data_dir`` with the fake embedder (``fake_embedder=False``: the
    default local one), run from its parent directory with ``env`` added to a clean environment; stopped with SIGINT
    on exit, after which ``output`` holds its stdout and stderr."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_DATA_DIR=str(data_dir), **extra)
    if fake_embedder:
        env["RAGWRIGHT_EMBEDDING__MODEL"] = "fake"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "serve", "--port", "0", *args],
        env=env,
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = ServeProcess(proc, "")
    lines: list[str] = []
    drain: threading.Thread | None = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while not running.url and time.monotonic() < deadline:
            found = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            running.url = found.group(1) if found else ""
        assert running.url, "serve did not report its address"
        # read the rest as it comes, so a long-lived server never blocks on a full pipe (its access log)
        drain = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
        drain.start()
        yield running
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        if drain is not None:
            drain.join(10)
        else:
            lines.extend(proc.stdout or ())
        running.output = "".join(lines)


def make_settings(data_dir: Path, store: str = "sqlite", **service: Any) -> Settings:
    return load_settings(
        data_dir=data_dir, store=store, embedding={"model": "fake"}, service=service, gateway={"ledger": False}
    )


backend_store = _backend_store  # the ``backend`` fixture itself is in tests/conftest.py (the server fixture is
# imported by test packages outside tests/http, and needs it wherever it runs)


def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RAGWRIGHT_"):
            monkeypatch.delenv(key)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> Iterator[Server]:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    models: dict[str, FakeChatModel] = {}
    settings = make_settings(tmp_path / "index", backend, rate_limit_rpm=None)
    app = create_app(settings, gateway=ScriptedGateway(models))
    for url in run_server(app):
        yield Server(app, url, settings, models)
