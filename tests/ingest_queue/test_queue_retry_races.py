"""``QueuedJobs.retry`` at the service seam, on a real PostgreSQL queue with no worker: of two retries of one dead
letter exactly one puts it back on the queue; a dead letter whose queue row an operator deleted is refused and stays
dead-lettered, as it was."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ragwright.config import load_settings
from ragwright.errors import JobNotRetryable, RagwrightError
from ragwright.interfaces.http.job_api import Submission
from ragwright.interfaces.http.job_store import Job
from ragwright.interfaces.http.queued_jobs import QueuedJobs
from ragwright.service.postgres_jobs import PostgresJobStore
from tests.http.conftest import clean_env


@pytest.fixture
def jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_postgres_dsn: str) -> Iterator[QueuedJobs]:
    clean_env(monkeypatch)
    settings = load_settings(data_dir=tmp_path / "index", store=fresh_postgres_dsn, queue={"enabled": True})
    runner = QueuedJobs(settings)
    yield runner
    runner.close()


def _dead_letter(jobs: QueuedJobs, dsn: str, tmp_path: Path) -> Job:
    """A job as a worker leaves it after its last attempt: queue row failed, job row dead-lettered, upload kept."""
    job_dir = tmp_path / "upload"
    job_dir.mkdir()
    (job_dir / "a.md").write_bytes(b"# A\n\nAlpha.\n")
    job = jobs.submit(Submission(jobs.new_id(), "acme", "default", "acme", job_dir=job_dir, files=("a.md",), tags=()))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE procrastinate_jobs SET status = 'failed', attempts = 3 WHERE id = %s", (job.queue_id,))
    store = PostgresJobStore(dsn)
    try:
        dead = store.update(
            job.id,
            lambda j: dataclasses.replace(
                j, status="failed", finished_at=time.time(), attempts=3, dead_letter=True, error="gave up"
            ),
        )
    finally:
        store.close()
    assert dead is not None and dead.dead_letter
    return dead


def test_two_retries_of_one_dead_letter_move_it_once(jobs: QueuedJobs, fresh_postgres_dsn: str, tmp_path: Path) -> None:
    dead = _dead_letter(jobs, fresh_postgres_dsn, tmp_path)
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def retry() -> None:
        start.wait()
        try:
            outcomes.append(jobs.retry(dead.id, tenant="acme").status)
        except RagwrightError as exc:
            outcomes.append(type(exc))

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(map(str, outcomes)) == sorted(["queued", str(JobNotRetryable)])
    with psycopg.connect(fresh_postgres_dsn) as conn:
        row = conn.execute("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", (dead.queue_id,)).fetchone()
    assert row == ("todo", 4)  # procrastinate's retry_job_by_id: failed -> todo, once
    again = jobs.get(dead.id, tenant="acme")
    assert again is not None and again.status == "queued" and not again.dead_letter and not again.finished


def test_a_dead_letter_whose_queue_row_is_gone_is_refused_and_stays_dead(
    jobs: QueuedJobs, fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    dead = _dead_letter(jobs, fresh_postgres_dsn, tmp_path)
    with psycopg.connect(fresh_postgres_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_jobs WHERE id = %s", (dead.queue_id,))  # docs: failed rows may go
    with pytest.raises(JobNotRetryable, match="gone"):
        jobs.retry(dead.id, tenant="acme")
    assert jobs.get(dead.id, tenant="acme") == dead  # dead-lettered, exactly as it was
    assert [j.id for j in jobs.dead_letters(tenant="acme", limit=10)] == [dead.id]
