"""``/metrics`` of a server whose uploads go on the queue counts the jobs it submitted once a worker has finished them,
by status, the same counter the embedded mode uses (``ragwright_ingest_jobs_total``); the pending gauge counts those not
yet ended."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import Plan
from tests.ingest_queue.conftest import QueueWorld, finished

pytestmark = pytest.mark.slow


def _counted(url: str, status: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    match = re.search(rf'^ragwright_ingest_jobs_total{{status="{status}"}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _gauge(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    match = re.search(r"^ragwright_ingest_jobs_pending (\S+)$", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


def _wait_counted(url: str, status: str, want: float, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while (seen := _counted(url, status)) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    return seen


def test_queued_jobs_are_counted_in_metrics_when_a_worker_finishes_them(world: QueueWorld) -> None:
    key = world.key()
    assert _counted(world.url, "succeeded") == 0.0
    job = world.upload(key, {"a.md": b"# A\n\nThe kettle descales with citric acid.\n"})
    assert _gauge(world.url) == 1.0  # no worker yet: it waits
    worker = world.workers.start()
    assert world.wait(key, job["id"], finished)["status"] == "succeeded"
    assert _wait_counted(world.url, "succeeded", 1.0) == 1.0

    with EmbeddingServer(FakeEmbedder(), default=Plan(status=400)) as broken:  # every attempt fails: dead-lettered
        world.workers.stop_one(worker)
        world.workers.start(broken.base_url)
        dead = world.upload(key, {"b.md": b"# B\n\nDescale monthly.\n"})
        assert world.wait(key, dead["id"], finished)["dead_letter"]
        assert _wait_counted(world.url, "failed", 1.0) == 1.0
    assert _counted(world.url, "succeeded") == 1.0  # each job counted once
    assert _gauge(world.url) == 0.0
