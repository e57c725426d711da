"""A real PostgreSQL schema holding the index, the jobs and the queue; an in-process API server putting uploads on
the queue; ``ragwright worker`` subprocesses consuming it; loopback embedding servers (the fake embedder behind
``openai-embed``) that can be slowed down or made to fail for one process only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from tests.http.conftest import clean_env, run_server

FAST_QUEUE = {
    "heartbeat_seconds": 0.3,
    "stalled_seconds": 1.5,
    "poll_seconds": 0.2,
    "backoff_seconds": 0,
    "retries": 2,
    "stop_seconds": 0.5,
}
"""Queue timings for tests: a dead worker is noticed within ~2 s, a stopping one hands its job back after 0.5 s."""


def queue_env(dsn: str, data_dir: Path, embed_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``ragwright`` subprocess on this queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(
        RAGWRIGHT_STORE=dsn,
        RAGWRIGHT_DATA_DIR=str(data_dir),
        RAGWRIGHT_EMBEDDING__MODEL=f"openai-embed:{embed_url}#fake",
        RAGWRIGHT_QUEUE__ENABLED="true",
        RAGWRIGHT_INGEST__EMBED_BATCH="1",  # one document per write: a kill falls between two documents
        RAGWRIGHT_GATEWAY__RETRY__MAX_ATTEMPTS="1",
        PYTHONPATH=os.pathsep.join(sys.path),
        **{f"RAGWRIGHT_QUEUE__{k.upper()}": str(v) for k, v in FAST_QUEUE.items()},
    )
    env.update(extra)
    return env


@dataclass
class Workers:
    """``ragwright worker`` processes started by a test, stopped at its end."""

    env: dict[str, str]
    cwd: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, embed_url: str | None = None) -> subprocess.Popen[str]:
        env = dict(self.env)
        if embed_url is not None:
            env["RAGWRIGHT_EMBEDDING__MODEL"] = f"openai-embed:{embed_url}#fake"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ragwright", "worker", "--log-level", "warning"],
            env=env,
            cwd=self.cwd,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_one(self, proc: subprocess.Popen[str]) -> str:
        """Stop one worker with SIGTERM to the whole process group (as systemd does; Docker signals the worker
        alone): it finishes or hands back its job; its stderr."""
        os.killpg(proc.pid, signal.SIGTERM)
        return proc.communicate(timeout=60)[1]

    def stop(self) -> list[str]:
        logs = []
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            logs.append(proc.communicate(timeout=60)[1])
        return logs


@dataclass
class QueueWorld:
    url: str
    app: Any
    dsn: str
    embed: EmbeddingServer
    workers: Workers

    def key(self, tenant: str = "acme", tags: tuple[str, ...] = ()) -> str:
        raw, _ = self.app.state.service.keys.create(tenant, scopes=("read", "write"), tags=tags)
        return str(raw)

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def upload(self, key: str, files: dict[str, bytes]) -> dict[str, Any]:
        with self.client(key) as c:
            r = c.post("/v1/documents", files=[("files", (n, b)) for n, b in files.items()])
        assert r.status_code == 202, r.text
        job: dict[str, Any] = r.json()
        return job

    def job(self, key: str, job_id: str) -> dict[str, Any]:
        with self.client(key) as c:
            r = c.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        return job

    def wait(
        self, key: str, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 90
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(key, job_id)
            if until(job):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached the state: {self.job(key, job_id)}")

    def count(self, sql: str, *args: object) -> int:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(sql, args).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_postgres_dsn: str) -> Iterator[QueueWorld]:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    with EmbeddingServer(FakeEmbedder()) as embed:
        settings = load_settings(
            data_dir=tmp_path / "index",
            store=fresh_postgres_dsn,
            embedding={"model": f"openai-embed:{embed.base_url}#fake"},
            service={"rate_limit_rpm": None},
            gateway={"ledger": False},
            queue={"enabled": True, **FAST_QUEUE},
        )
        app = create_app(settings)
        workers = Workers(queue_env(fresh_postgres_dsn, tmp_path / "index", embed.base_url), tmp_path)
        try:
            for url in run_server(app):
                yield QueueWorld(url, app, fresh_postgres_dsn, embed, workers)
        finally:
            workers.stop()
