"""The job API of a server whose uploads go on the ingest queue (``[queue] enabled``): the same calls as
:class:`~ragwright.interfaces.http.jobs.JobRunner`, answered from the jobs table that ``ragwright worker`` processes
keep up to date (status, attempts, progress, result, dead letters).

An upload's bytes move from the request's temporary directory into PostgreSQL with the job row (one transaction), so a
worker on any host can ingest them; then the job goes on the queue. Nothing runs in the server process.

Example::

    jobs = QueuedJobs(settings, store)
    job = jobs.submit(jobs.new_id(), tenant="acme", kb="default", store_tenant="acme", job_dir=d, files=["a.md"],
                      tags=())
    jobs.get(job.id, tenant="acme").status     # "queued" -> "running" -> "succeeded" / "failed"
    jobs.cancel(job.id, tenant="acme")
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

from ragwright.config import Settings
from ragwright.errors import JobNotCancellable, RagwrightError
from ragwright.interfaces.http.job_store import Job, JobStatus, new_job_id
from ragwright.queue.client import IngestQueue
from ragwright.service.postgres_jobs import PostgresJobStore

__all__ = ["QueuedJobs"]


class QueuedJobs:
    """Submit, read and cancel ingest jobs on the queue; the rows are the truth every replica reads."""

    def __init__(self, settings: Settings, store: PostgresJobStore, keep: int = 1000) -> None:
        self._store = store
        self._queue = IngestQueue(settings)
        self._keep = keep
        self._submitted = 0

    new_id = staticmethod(new_job_id)

    def submit(
        self,
        job_id: str,
        *,
        tenant: str,
        kb: str,
        store_tenant: str,
        job_dir: Path,
        files: list[str],
        tags: tuple[str, ...],
        key_tags: tuple[str, ...] = (),
    ) -> Job:
        try:
            data = {name: (job_dir / name).read_bytes() for name in files}
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
        job = Job(
            id=job_id,
            tenant=tenant,
            kb=kb,
            store_tenant=store_tenant,
            files=files,
            tags=tags,
            files_total=len(files),
            key_tags=key_tags,
        )
        self._store.submit(job, data)
        self._submitted += 1
        if self._submitted % 100 == 0:  # finished jobs beyond the newest `keep` go, with dead letters' uploads
            self._store.trim(self._keep)
        try:
            queue_id = self._queue.defer(job_id)
        except RagwrightError as exc:
            why = f"could not queue the job: {exc}"
            self._store.update(job_id, lambda j: _ended(j, "failed", why))
            raise

        def queued(job: Job) -> Job:
            return dataclasses.replace(job, queue_id=queue_id)

        return self._store.update(job_id, queued) or job

    def get(self, job_id: str, *, tenant: str) -> Job | None:
        """The job, only if it belongs to ``tenant`` (another tenant's job id reads as unknown)."""
        job = self._store.get(job_id)
        return job if job is not None and job.tenant == tenant else None

    def for_tenant(self, *, tenant: str, limit: int) -> list[Job]:
        """The tenant's newest ``limit`` jobs, newest first."""
        return self._store.for_tenant(tenant, limit)

    def cancel(self, job_id: str, *, tenant: str) -> Job | None:
        """Cancel a waiting job at once, or ask the worker running it to stop (it then records ``cancelled``); the
        job as it stands, None if unknown. Raises :class:`JobNotCancellable` if it has already ended."""
        job = self.get(job_id, tenant=tenant)
        if job is None:
            return None
        if job.finished:
            raise JobNotCancellable(f"job {job_id} has already {job.status}")
        if job.queue_id is not None and self._queue.cancel(job.queue_id) and self._queue.running(job.queue_id):
            return job  # the worker stops it and records the outcome
        ended = self._store.update(job_id, lambda j: _ended(j, "cancelled", "cancelled on request"))
        self._store.drop_files(job_id)
        return ended

    def pending(self) -> int:
        return self._store.count_unfinished()

    def recover(self) -> list[str]:
        """Nothing to take over here: workers take back each other's stalled jobs (:mod:`ragwright.queue.consumer`)."""
        return []

    def close(self) -> None:
        self._queue.close()


def _ended(job: Job, status: JobStatus, why: str) -> Job | None:
    if job.finished:
        return None
    return dataclasses.replace(job, status=status, finished_at=time.time(), error=why)
