"""The job API of a server whose uploads go on the ingest queue (``[queue] enabled``): the same calls as
:class:`~ragwright.interfaces.http.jobs.JobRunner`, answered from the jobs table that ``ragwright worker`` processes
keep up to date (status, attempts, progress, result, dead letters).

An upload's bytes move from the request's temporary directory into PostgreSQL with the job row (one transaction), so a
worker on any host can ingest them; then the job goes on the queue. Nothing runs in the server process.

The jobs a process submitted are watched (one indexed query every ``[queue] poll_seconds``, at most 1 s, while any is
unfinished), and ``on_done`` is called once for each when a worker ends it, as the embedded runner calls it: the
``ragwright_ingest_jobs_total`` counter of ``/metrics`` counts them and the pending gauge is the ones not yet ended
(each process its own, which add up over processes and replicas).

Example::

    jobs = QueuedJobs(settings, store)      # store: the server's PostgresJobStore (None: open one of its own)
    job = jobs.submit(Submission(jobs.new_id(), "acme", "default", "acme", job_dir=d, files=("a.md",), tags=()))
    jobs.get(job.id, tenant="acme").status     # "queued" -> "running" -> "succeeded" / "failed"
    jobs.cancel(job.id, tenant="acme")
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
import time
from collections.abc import Callable

from ragwright.config import Settings
from ragwright.errors import JobNotCancellable, JobNotFound, JobNotRetryable, RagwrightError, StoreError
from ragwright.interfaces.http.job_api import Submission, report_done, visible
from ragwright.interfaces.http.job_store import Job, JobStatus, new_job_id
from ragwright.queue.client import IngestQueue
from ragwright.service.postgres_jobs import PostgresJobStore

__all__ = ["QueuedJobs"]

log = logging.getLogger("ragwright.http.jobs")


class QueuedJobs:
    """Submit, read and cancel ingest jobs on the queue; the rows are the truth every replica reads."""

    def __init__(
        self,
        settings: Settings,
        store: PostgresJobStore | None = None,
        *,
        on_done: Callable[[Job], None] | None = None,
        keep: int = 1000,
    ) -> None:
        self._own_store = store is None  # whoever opens it closes it
        self._store = store if store is not None else PostgresJobStore(settings.store_dsn())
        self._queue = IngestQueue(settings)
        self._on_done = on_done
        self._keep = keep
        self._submitted = 0
        self._poll = min(settings.queue.poll_seconds, 1.0)
        self._watched: set[str] = set()  # submitted here, not yet seen ended
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None
        self._closed = False

    new_id = staticmethod(new_job_id)

    def submit(self, upload: Submission) -> Job:
        try:
            data = {name: (upload.job_dir / name).read_bytes() for name in upload.files}
        finally:
            shutil.rmtree(upload.job_dir, ignore_errors=True)
        job, job_id = upload.job(), upload.job_id
        self._store.submit(job, data)
        self._watch(job_id)
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
        return visible(self._store.get(job_id), tenant)

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

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until the job has ended (or ``timeout`` passed); the job as it stands then, None if unknown."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self._store.get(job_id)
            left = None if deadline is None else deadline - time.monotonic()
            if job is None or job.finished or (left is not None and left <= 0):
                return job
            with self._changed:
                if self._closed:
                    return job
                self._changed.wait(self._poll if left is None else min(self._poll, left))

    def dead_letters(self, *, tenant: str | None, limit: int) -> list[Job]:
        """The newest ``limit`` dead-lettered jobs of ``tenant`` (None: every tenant's, for the operator)."""
        return self._store.dead_letters(tenant, limit)

    def retry(self, job_id: str, *, tenant: str) -> Job:
        """Re-run a dead-lettered job from its kept upload: back to ``queued`` and on the queue for a worker, which
        gives it one more attempt (its attempt count goes on from where it stopped; if that attempt fails it is
        dead-lettered again). The job as queued. :class:`JobNotFound` if ``tenant`` has no such job,
        :class:`JobNotRetryable` if it is not dead-lettered."""
        job = self.get(job_id, tenant=tenant)
        if job is None:
            raise JobNotFound(f"no job {job_id!r} in tenant {tenant!r}")
        if not job.dead_letter or job.queue_id is None:
            raise JobNotRetryable(
                f"job {job_id} is {job.status}, not dead-lettered: only a dead-lettered job is retried"
            )
        queue_id = job.queue_id

        before: list[Job] = []  # the dead letter this call moved, if it did: of two retries at once, one does

        def requeue(stored: Job) -> Job | None:
            if not stored.dead_letter:
                return None  # another retry took it first
            before.append(dataclasses.replace(stored))
            return dataclasses.replace(
                stored, status="queued", finished_at=None, result=None, dead_letter=False, worker=None,
                error=f"retried on request after: {stored.error}",
            )  # fmt: skip

        queued = self._store.update(job_id, requeue)  # before the queue moves it, so its worker finds it waiting
        if not before or queued is None:
            raise JobNotRetryable(f"job {job_id} is being retried already")
        try:
            self._queue.retry(queue_id)
        except RagwrightError:  # dead-lettered again, as it was (unless something moved it since)
            self._store.update(job_id, lambda stored: before[0] if stored == queued else None)
            raise
        self._watch(job_id)
        return queued

    def pending(self) -> int:
        """The jobs this process submitted that have not ended (as last read), like the embedded runner's count, so
        the ``livesum`` gauge of ``/metrics`` adds up over processes and replicas instead of counting the queue once
        per process."""
        with self._changed:
            return len(self._watched)

    def recover(self) -> list[str]:
        """Nothing to take over here: workers take back each other's stalled jobs (:mod:`ragwright.queue.consumer`)."""
        return []

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._watcher is not None:
            self._watcher.join(10)
        self._queue.close()
        if self._own_store:
            self._store.close()

    # -- finished jobs ---------------------------------------------------------------------------------------------

    def _watch(self, job_id: str) -> None:
        with self._changed:
            self._watched.add(job_id)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_loop, name="ragwright-queued-jobs", daemon=True)
                self._watcher.start()
            self._changed.notify_all()

    def _watch_loop(self) -> None:
        """Call ``on_done`` once for each watched job a worker (or a cancel) has ended."""
        while True:
            with self._changed:
                while not self._closed and not self._watched:
                    self._changed.wait()
                if self._closed:
                    return
                ids = sorted(self._watched)
            try:
                states = self._store.ended_among(ids)
            except StoreError as exc:
                log.warning("cannot read the state of the queued jobs: %s", exc)
                states = dict.fromkeys(ids)  # as if still running: read again next time
            ended = [job for job in states.values() if job is not None]
            with self._changed:  # ended, or gone (trimmed away): no longer watched
                self._watched.difference_update(i for i in ids if i not in states or states[i] is not None)
            for job in ended:
                report_done(self._on_done, job)
            with self._changed:
                if not self._closed:
                    self._changed.wait(self._poll)


def _ended(job: Job, status: JobStatus, why: str) -> Job | None:
    if job.finished:
        return None
    return dataclasses.replace(job, status=status, finished_at=time.time(), error=why)
