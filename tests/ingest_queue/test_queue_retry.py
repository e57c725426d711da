"""``ragwright queue dead`` and ``ragwright queue retry JOB_ID``: a dead-lettered job is listed (for its tenant only),
re-run from its kept upload by a worker once retried, and indexed once; an unknown id, another tenant's job and a job
that is not dead-lettered are refused with exit code 2 and one line, changing nothing. Real PostgreSQL, real
``ragwright`` subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import Plan
from tests.ingest_queue.conftest import QueueWorld, finished

pytestmark = pytest.mark.slow


def _queue(world: QueueWorld, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragwright", "queue", *args],
        env={**world.workers.env, "COLUMNS": "250"},  # the table's rows on one line each
        cwd=world.workers.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _dead(world: QueueWorld, *args: str) -> list[dict[str, Any]]:
    listed = _queue(world, "dead", "--json", *args)
    assert listed.returncode == 0, listed.stderr
    jobs: list[dict[str, Any]] = json.loads(listed.stdout)
    return jobs


def test_a_dead_lettered_job_is_listed_and_retried_once_by_a_worker(world: QueueWorld) -> None:
    key = world.key()
    with EmbeddingServer(FakeEmbedder(), default=Plan(status=400)) as broken:
        broken_worker = world.workers.start(broken.base_url)
        job = world.upload(key, {"kettle.md": b"# Kettle\n\nDescale the kettle monthly with citric acid.\n"})
        dead = world.wait(key, job["id"], finished)
        world.workers.stop_one(broken_worker)
    assert dead["dead_letter"] and dead["attempts"] == 3, dead

    assert [j["id"] for j in _dead(world, "--tenant", "acme")] == [job["id"]]
    assert [j["id"] for j in _dead(world)] == [job["id"]]  # the operator's view: every tenant
    assert _dead(world, "--tenant", "other") == []
    table = _queue(world, "dead", "--tenant", "acme")
    assert table.returncode == 0 and job["id"] in table.stdout and "gave up after 3 attempts" in table.stdout

    for args, says in (
        (["job_00000000000000000000", "--tenant", "acme"], "no job 'job_00000000000000000000' in tenant 'acme'"),
        ([job["id"], "--tenant", "other"], f"no job '{job['id']}' in tenant 'other'"),  # another tenant's: unknown
    ):
        refused = _queue(world, "retry", *args)
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert world.job(key, job["id"])["dead_letter"]  # unchanged by the refusals

    retried = _queue(world, "retry", job["id"], "--tenant", "acme", "--json")
    assert retried.returncode == 0, retried.stderr
    queued = json.loads(retried.stdout)
    assert queued["status"] == "queued" and not queued["dead_letter"], queued
    assert _dead(world, "--tenant", "acme") == []
    again = _queue(world, "retry", job["id"], "--tenant", "acme")  # waiting, not dead-lettered
    assert again.returncode == 2 and "not dead-lettered" in again.stderr, again.stderr

    world.workers.start()
    done = world.wait(key, job["id"], finished)
    assert done["status"] == "succeeded" and not done["dead_letter"], done
    assert done["attempts"] == 4 and done["result"]["added"] == 1, done  # one more attempt, counted as added
    assert world.count("SELECT count(*) FROM job_files WHERE job_id = %s", job["id"]) == 0  # the upload went
    assert world.count("SELECT count(*) FROM documents WHERE doc_id = 'kettle.md'") == 1
    with world.client(key) as c:
        hits = c.post("/v1/search", json={"query": "descale kettle citric acid", "k": 3}).json()["hits"]
    assert hits and hits[0]["doc_id"] == "kettle.md"
    succeeded = _queue(world, "retry", job["id"], "--tenant", "acme")
    assert succeeded.returncode == 2 and f"job {job['id']} is succeeded, not dead-lettered" in succeeded.stderr


def test_queue_commands_need_the_queue(world: QueueWorld) -> None:
    env = {**world.workers.env, "RAGWRIGHT_QUEUE__ENABLED": "false"}
    off = subprocess.run(
        [sys.executable, "-m", "ragwright", "queue", "dead"],
        env=env,
        cwd=world.workers.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert off.returncode == 2 and "the ingest queue is off" in off.stderr, off.stderr
