"""Ingest on the queue with a real PostgreSQL and real ``ragwright worker`` processes: a job uploaded through the API
runs on a worker; a failed attempt is retried and the last one dead-letters the job; a waiting or running job is
cancelled; a worker stopped (SIGTERM) or killed (SIGKILL) mid-job leaves the job to another worker, and the documents
are indexed exactly once."""

from __future__ import annotations

import os
import signal

import pytest

from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import Plan
from tests.ingest_queue.conftest import QueueWorld, finished

pytestmark = pytest.mark.slow


def _docs(n: int, prefix: str = "doc") -> dict[str, bytes]:
    return {
        f"{prefix}{i}.md": f"# Runbook {i}\n\nRotate the billing key number {i} every quarter.\n".encode()
        for i in range(n)
    }


def test_an_upload_is_ingested_by_a_worker_process(world: QueueWorld) -> None:
    key = world.key()
    job = world.upload(key, _docs(3))
    assert job["status"] == "queued"
    worker = world.workers.start()
    done = world.wait(key, job["id"], finished)
    assert done["status"] == "succeeded", done
    assert done["result"]["added"] == 3 and done["attempts"] == 1 and not done["dead_letter"]
    assert done["progress"]["files_done"] == 3
    assert world.count("SELECT count(*) FROM job_files") == 0  # the upload is gone once the job ended
    stored = world.count("SELECT data::json->'worker'->>0 FROM jobs WHERE id = %s", job["id"])
    assert stored == worker.pid  # the worker process ran it, not the server
    with world.client(key) as c:
        hits = c.post("/v1/search", json={"query": "rotate billing key number 2", "k": 3}).json()["hits"]
        listed = c.get("/v1/jobs").json()["data"]
    assert hits and hits[0]["doc_id"] == "doc2.md"
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "succeeded")]


def test_a_failed_attempt_is_retried_and_the_last_one_dead_letters_the_job(world: QueueWorld) -> None:
    key = world.key()
    with EmbeddingServer(FakeEmbedder(), default=Plan(status=400)) as broken:
        broken_worker = world.workers.start(broken.base_url)
        job = world.upload(key, _docs(1))
        dead = world.wait(key, job["id"], finished)
        world.workers.stop_one(broken_worker)
    assert dead["status"] == "failed" and dead["dead_letter"], dead
    assert dead["attempts"] == 3  # the first and [queue] retries = 2 more
    assert dead["error"].startswith("gave up after 3 attempts")
    assert world.count("SELECT count(*) FROM job_files WHERE job_id = %s", job["id"]) == 1  # kept for a re-run
    assert world.count("SELECT status = 'failed' FROM procrastinate_jobs WHERE args->>'job_id' = %s", job["id"])

    # an attempt that fails once is retried, and the retry succeeds
    world.embed.enqueue(Plan(status=400))  # the next embedding request (the worker's) fails, then all succeed
    job = world.upload(key, _docs(1, "again"))
    worker = world.workers.start()
    done = world.wait(key, job["id"], finished)
    assert done["status"] == "succeeded" and done["attempts"] == 2 and done["result"]["added"] == 1, done
    assert worker.poll() is None


def test_a_waiting_job_and_a_running_job_are_cancelled(world: QueueWorld) -> None:
    key = world.key()
    waiting = world.upload(key, _docs(1, "never"))
    with world.client(key) as c:
        r = c.post(f"/v1/jobs/{waiting['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert c.post(f"/v1/jobs/{waiting['id']}/cancel").status_code == 409  # it has ended

    world.embed.default = Plan(delay=0.5)  # each document takes half a second to embed
    running = world.upload(key, _docs(8, "slow"))
    world.workers.start()
    world.wait(key, running["id"], lambda j: j["status"] == "running" and j["progress"]["files_done"] >= 1)
    with world.client(key) as c:
        assert c.post(f"/v1/jobs/{running['id']}/cancel").status_code == 200
    stopped = world.wait(key, running["id"], finished)
    assert stopped["status"] == "cancelled", stopped
    kept = stopped["result"]["added"]
    assert 1 <= kept < 8  # what was committed before the stop stays, and is reported
    assert world.count("SELECT count(*) FROM documents WHERE doc_id LIKE 'slow%%'") == kept
    assert world.count("SELECT count(*) FROM documents WHERE doc_id LIKE 'never%%'") == 0


def test_a_worker_stopped_or_killed_mid_job_leaves_it_to_another_and_every_document_is_indexed_once(
    world: QueueWorld,
) -> None:
    key = world.key()
    world.embed.default = Plan(delay=0.3)
    job = world.upload(key, _docs(8))

    # SIGTERM: the job in hand may run for stop_seconds, then goes back on the queue
    stopped = world.workers.start()
    world.wait(key, job["id"], lambda j: j["status"] == "running" and j["progress"]["files_done"] >= 1)
    world.workers.stop_one(stopped)
    handed_back = world.job(key, job["id"])
    assert handed_back["status"] == "queued" and handed_back["attempts"] == 1, handed_back
    assert "the worker stopped during the job" in handed_back["error"]

    # SIGKILL: nothing is handed back; another worker takes the job once the dead one's heartbeat is stale
    killed = world.workers.start()
    world.wait(key, job["id"], lambda j: j["attempts"] == 2 and j["progress"]["files_done"] >= 2)
    os.killpg(killed.pid, signal.SIGKILL)  # the worker and its ingest subprocess
    killed.wait()
    committed = world.count("SELECT count(*) FROM documents")
    assert 1 <= committed < 8, committed  # stopped and killed mid-job
    world.workers.start()
    done = world.wait(key, job["id"], finished)
    assert done["status"] == "succeeded" and done["attempts"] == 3, done
    assert done["result"]["added"] == 8 and done["result"]["unchanged"] == 0  # counted against the first plan
    assert world.count("SELECT count(*) FROM documents") == 8
    assert world.count("SELECT count(*) FROM chunks") == 8  # one chunk each, none twice
    assert world.count("SELECT count(DISTINCT (doc_id, ordinal)) FROM chunks") == 8
    assert world.count("SELECT n_chunks FROM tenants WHERE tenant = 'acme'") == 8  # BM25 totals moved once
