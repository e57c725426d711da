"""``ragwright worker``: a consumer of the ingest queue. Each job runs in the sandboxed ingest subprocess
(:mod:`ragwright.queue.child`) and every change of its state is written to the jobs table the API replicas read.

- **Retries with backoff**: an attempt that fails as a whole (the subprocess died, the store failed) is retried after
  ``backoff_seconds ** n`` seconds; after ``[queue] retries`` retries the job is **dead-lettered**: status ``failed``,
  ``dead_letter: true``, its upload kept.
- **A worker that dies** (``kill -9``, a lost host) stops sending heartbeats; after ``stalled_seconds`` any other
  worker (and every worker when it starts) takes its running job back: retried, or dead-lettered if that was its last
  attempt. A retried job is **exactly once in the index**: a document's rows are replaced in one transaction, keyed by
  tenant and document id, and a document whose content hash is already stored is skipped, so what the dead attempt
  committed is kept and nothing is written twice.
- **Cancellation**: ``POST /v1/jobs/{id}/cancel`` cancels a waiting job at once and asks the worker running one to
  stop; the worker kills the subprocess (the document being written rolls back) and records ``cancelled`` with what
  the index holds.
- **Progress**: the subprocess's events (files done, chunks embedded) are written to the job row as they come.

Example::

    consumer = IngestConsumer(settings)
    asyncio.run(consumer.run())          # until SIGINT / SIGTERM
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import JobAborted, ProcrastinateException
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job as QueueJob
from procrastinate.jobs import Status

from ragwright.config import Settings
from ragwright.errors import IngestAttemptFailed, RagwrightError
from ragwright.interfaces.http.job_recovery import index_reader, reconcile
from ragwright.interfaces.http.job_store import Job, JobStatus, worker_task
from ragwright.private_files import open_private
from ragwright.processes import this_process
from ragwright.queue.child import ChildDied, ChildStopped, IngestChild
from ragwright.queue.schema import TASK, migrate_queue
from ragwright.service.postgres_jobs import PostgresJobStore

__all__ = ["IngestConsumer"]

log = logging.getLogger("ragwright.worker")


class IngestConsumer:
    """One ``ragwright worker`` process: the procrastinate worker, the ingest subprocess, the stalled-job sweep."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = settings.queue
        dsn = settings.store_dsn()
        migrate_queue(dsn)
        self.jobs = PostgresJobStore(dsn)
        self.child = IngestChild(settings)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.app = App(connector=PsycopgConnector(conninfo=dsn, min_size=1, max_size=4, name="ragwright-worker"))
        retry = RetryStrategy(max_attempts=self.queue.retries, exponential_wait=self.queue.backoff_seconds)
        self.app.task(name=TASK, queue=self.queue.name, pass_context=True, retry=retry)(self._ingest)

    async def run(self, *, once: bool = False) -> None:
        """Consume until stopped (SIGINT/SIGTERM), or with ``once`` until the queue is empty."""
        async with self.app.open_async():
            await self.sweep()
            sweeper = asyncio.create_task(self._sweep_forever())
            try:
                await self.app.run_worker_async(
                    queues=[self.queue.name],
                    name=self.name,
                    concurrency=1,
                    wait=not once,
                    fetch_job_polling_interval=self.queue.poll_seconds,
                    abort_job_polling_interval=self.queue.poll_seconds,
                    update_heartbeat_interval=self.queue.heartbeat_seconds,
                    stalled_worker_timeout=self.queue.stalled_seconds,
                    shutdown_graceful_timeout=self.queue.stop_seconds,
                    delete_jobs="successful",  # the queue keeps what needs looking at: failed, cancelled, aborted
                )
            finally:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)
                await asyncio.to_thread(self.close)

    def close(self) -> None:
        self.child.close()
        self.jobs.close()

    # -- the stalled-job sweep -------------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.queue.poll_seconds)
            try:
                await self.sweep()
            except (ProcrastinateException, RagwrightError):
                log.exception("the stalled-job sweep failed; trying again")

    async def sweep(self) -> list[int]:
        """Take back the running jobs of workers silent for ``stalled_seconds``: retry each one, or dead-letter it
        after its last attempt. Of several workers sweeping at once exactly one moves each job (the queue's row
        lock). The queue ids moved."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=self.queue.name, task_name=TASK, seconds_since_heartbeat=self.queue.stalled_seconds
        )
        moved = []
        for qjob in stalled:
            why = f"the worker running it stopped (no heartbeat for {self.queue.stalled_seconds:g} s)"
            last = qjob.attempts >= self.queue.retries
            try:
                if last:
                    await manager.finish_job(qjob, Status.FAILED, delete_job=False)
                else:
                    await manager.retry_job(qjob, retry_at=self._retry_at(qjob.attempts))
            except ProcrastinateException:
                continue  # another worker moved it first
            assert qjob.id is not None
            moved.append(qjob.id)
            log.warning("job %s: %s; %s", qjob.task_kwargs.get("job_id"), why, "dead-lettered" if last else "retried")
            await asyncio.to_thread(self._attempt_ended, str(qjob.task_kwargs.get("job_id")), why, last)
        return moved

    def _retry_at(self, attempts: int) -> datetime.datetime:
        wait = self.queue.backoff_seconds ** (attempts + 1) if self.queue.backoff_seconds else 0
        return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=wait)

    # -- one job ---------------------------------------------------------------------------------------------------

    def _ingest(self, context: JobContext, job_id: str) -> None:
        qjob: QueueJob = context.job
        last = qjob.attempts >= self.queue.retries
        me = this_process()

        def start(job: Job) -> Job | None:  # attempts: those the row saw start (procrastinate's count also goes up
            if job.finished:  # when `ragwright queue retry` re-runs a dead letter)
                return None
            return dataclasses.replace(
                job, status="running", started_at=job.started_at or time.time(), attempts=job.attempts + 1,
                worker=me, owner=me[0], owner_start=me[1], error=None,
            )  # fmt: skip

        job = self.jobs.update(job_id, start)
        if job is None or job.finished or job.status != "running":
            return  # cancelled (or gone) before it started
        files = self.jobs.files(job_id)
        try:
            with _materialized(files) as job_dir:
                final = self.child.run(
                    worker_task(job, str(job_dir)), lambda event: self._event(job_id, event), context.should_abort
                )
                if final["event"] == "failed":
                    raise IngestAttemptFailed(str(final["message"]))
                summary = self._summary(job_id, final["summary"], job_dir)
        except ChildStopped:
            if context.abort_reason() == AbortReason.SHUTDOWN:  # the worker is stopping: back on the queue, as a retry
                self._attempt_ended(job_id, "the worker stopped during the job", last)
            else:
                self._end(job_id, "cancelled", "cancelled on request")
            raise JobAborted from None
        except (ChildDied, IngestAttemptFailed, RagwrightError, OSError) as exc:
            self._attempt_ended(job_id, str(exc), last)
            raise IngestAttemptFailed(str(exc)) from None

        def succeed(job: Job) -> Job:
            return dataclasses.replace(
                job, status="succeeded", finished_at=time.time(), result=summary, files_done=job.files_total,
                error=None,
            )  # fmt: skip

        self.jobs.update(job_id, succeed)
        self.jobs.drop_files(job_id)

    def _event(self, job_id: str, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "plan":
            existing = {str(k): (None if v is None else str(v)) for k, v in event["existing"].items()}

            def plan(job: Job) -> Job | None:  # the first attempt's plan is the one that tells added from unchanged
                return None if job.existing is not None else dataclasses.replace(job, existing=existing)

            self.jobs.update(job_id, plan)
        elif kind == "progress":
            done, total, chunks = int(event["files_done"]), int(event["files_total"]), int(event["chunks"])

            def progress(job: Job) -> Job:
                return dataclasses.replace(job, files_done=done, files_total=total, chunks_embedded=chunks)

            self.jobs.update(job_id, progress)

    def _summary(self, job_id: str, summary: dict[str, Any], job_dir: Path) -> dict[str, Any]:
        """The last attempt's summary, with added/updated/unchanged counted against the first attempt's plan (what an
        interrupted attempt committed is unchanged to the retry, but was added by the job)."""
        job = self.jobs.get(job_id)
        if job is None or job.attempts <= 1 or job.existing is None:
            return summary
        with index_reader(self.settings) as lookup:
            truth, _ = reconcile(dataclasses.replace(job, job_dir=str(job_dir)), lookup, "")
        return {**summary, **{k: truth[k] for k in ("added", "updated", "unchanged")}}

    def _attempt_ended(self, job_id: str, why: str, last: bool) -> None:
        """Record a failed or interrupted attempt: back to ``queued`` for its retry, or dead-lettered."""
        if last:
            self._end(job_id, "failed", why, dead_letter=True)
            return

        def requeue(job: Job) -> Job | None:
            if job.finished:
                return None
            return dataclasses.replace(job, status="queued", error=f"attempt {job.attempts} failed: {why}", worker=None)

        self.jobs.update(job_id, requeue)

    def _end(self, job_id: str, status: JobStatus, why: str, *, dead_letter: bool = False) -> None:
        """Finish the job with the result the index holds; its upload goes, unless dead-lettered."""
        files = self.jobs.files(job_id)
        job = self.jobs.get(job_id)
        if job is None:
            return
        with _materialized(files) as job_dir, index_reader(self.settings) as lookup:
            result, done = reconcile(dataclasses.replace(job, job_dir=str(job_dir)), lookup, why)

        def end(job: Job) -> Job | None:
            if job.finished:
                return None
            error = f"gave up after {job.attempts} attempts: {why}" if dead_letter else why
            return dataclasses.replace(
                job, status=status, finished_at=time.time(), result=result, files_done=done, error=error,
                dead_letter=dead_letter, worker=None,
            )  # fmt: skip

        self.jobs.update(job_id, end)
        if not dead_letter:
            self.jobs.drop_files(job_id)


@contextmanager
def _materialized(files: dict[str, bytes]) -> Iterator[Path]:
    """The upload's files in a private temporary directory for the length of the block."""
    with tempfile.TemporaryDirectory(prefix="ragwright-job-") as root:
        job_dir = Path(root)
        for name, data in files.items():
            with open_private(job_dir / name) as out:
                out.write(data)
        yield job_dir
