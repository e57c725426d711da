"""Fixtures for the tracing tests: a real OTLP collector (Arize Phoenix) on loopback, an in-memory tracer provider.

Phoenix (``arize-phoenix==20.26.1``) pins versions of FastAPI, pydantic, httpx and uvicorn other than ragwright's
(``pip install --dry-run`` wants fastapi 0.165.0, pydantic 2.14.4, httpx 0.29.0), so it is not a dependency of
ragwright: ``make test`` installs it into its own virtual environment, ``.venv-phoenix/``, and the tests start its
``phoenix serve`` as a separate process on free loopback ports (OTLP/HTTP on ``/v1/traces``; spans read back from its
REST API ``/v1/projects/default/spans``). ``RAGWRIGHT_PHOENIX`` names another ``phoenix`` executable,
``RAGWRIGHT_PHOENIX_URL`` a Phoenix already running (its startup takes a minute or more on a busy machine).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.observability import tracing
from tests.http.conftest import server  # noqa: F401 - a fixture, found by pytest here (backend: tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Phoenix:
    """A running Phoenix: its OTLP/HTTP endpoint and its spans, read back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.otlp = f"{url}/v1/traces"

    def spans(self, trace_id: str, *, expect: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The spans of ``trace_id`` Phoenix has ingested, once there are at least ``expect`` of them."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            r = httpx.get(f"{self.url}/v1/projects/default/spans", params={"limit": 1000}, timeout=30)
            r.raise_for_status()
            found = [s for s in r.json()["data"] if s["context"]["trace_id"] == trace_id]
            if len(found) >= expect:
                return found
            time.sleep(0.5)
        raise AssertionError(f"Phoenix holds {len(found)} spans of trace {trace_id}, expected {expect}")


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    running = os.environ.get("RAGWRIGHT_PHOENIX_URL")  # one already started (while working on these tests)
    if running:
        yield Phoenix(running.rstrip("/"))
        return
    exe = os.environ.get("RAGWRIGHT_PHOENIX") or str(ROOT / ".venv-phoenix" / "bin" / "phoenix")
    if not Path(exe).exists():
        reason = "Phoenix is not installed: `make test` builds .venv-phoenix (see tests/observability/conftest.py)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)  # under CI a missing collector fails the run, never a silent skip
        pytest.skip(reason)
    port = _free_port()
    work = tmp_path_factory.mktemp("phoenix")
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (work / "phoenix.log").open("wb")
    proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {proc.returncode}: see {work / 'phoenix.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"phoenix did not start in {STARTUP_S:.0f}s: see {work / 'phoenix.log'}")
            time.sleep(0.5)
        yield Phoenix(url)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, every span kept in memory (exported synchronously as it ends)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider, capture=True)
    try:
        yield exporter
    finally:
        tracing.shutdown()


@pytest.fixture(autouse=True)
def _tracing_off_after() -> Iterator[None]:
    yield
    tracing.shutdown()
