"""Background ingest jobs: a registry the API reads, and the one worker subprocess that runs them in order.

Jobs are kept in memory by the process that runs them and written to a :class:`JobStore` (SQLite, the newest
``keep`` finished ones), so every server process can report every job. Crashes are told honestly:

- the **worker** dies (a parser crash, a kill): the job it was running fails, with a result rebuilt from the index
  (:func:`~ragwright.interfaces.http.job_recovery.reconcile`: what was committed counts as added/updated), and the next
  job starts a fresh worker;
- the **server** dies: its worker notices within 0.2 s and exits (it watches its parent pid); the next server process
  (at start-up, :meth:`JobRunner.recover`, or when a job is read) takes the orphaned jobs over, exactly one process per
  job: a queued job is run, a running one fails with its reconciled result;
- the upload directory is removed whenever a job ends.

Example::

    jobs = JobRunner(settings, on_done=refresh)
    job = jobs.submit(Submission(jobs.new_id(), "acme", "default", "acme", job_dir=d, files=("a.md",), tags=()))
    jobs.get(job.id, tenant="acme").status     # "queued" -> "running" -> "succeeded" / "failed"
    jobs.close()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragwright.config import Settings
from ragwright.errors import JobNotCancellable, StoreError
from ragwright.interfaces.http.job_api import Submission, report_done, visible
from ragwright.interfaces.http.job_recovery import index_reader, reconcile, stop_worker
from ragwright.interfaces.http.job_store import Job, JobStatus, JobStore, new_job_id, worker_task
from ragwright.interfaces.http.worker import spawn
from ragwright.processes import alive, process_start

__all__ = ["Job", "JobRunner", "JobStore"]

log = logging.getLogger("ragwright.http.jobs")


class JobRunner:
    """Queue of ingest jobs served by one worker subprocess, with a thread reading its events.

    With a :class:`JobStore` every change is also written there, and jobs of other processes are read from it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        on_done: Callable[[Job], None] | None = None,
        keep: int = 1000,
        store: JobStore | None = None,
    ) -> None:
        self._settings_json = json.dumps(settings.model_dump(mode="json"))
        self._settings = settings
        self._me = (os.getpid(), process_start(os.getpid()))
        self._on_done = on_done
        self._keep = keep
        self._store = store
        self._submitted = 0
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._queued: list[str] = []  # tasks (JSON lines) not yet handed to a live worker
        self._sent: list[str] = []  # job ids handed to the current worker and not finished
        self._closed = False

    # -- API -------------------------------------------------------------------------------------------------------

    new_id = staticmethod(new_job_id)

    def submit(self, upload: Submission) -> Job:
        job = upload.job(job_dir=str(upload.job_dir))
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is closed")
            self._jobs[job.id] = job
            self._trim()
            self._save(job)
            self._queued.append(_task(job))
            self._pump()
        return job

    def recover(self) -> list[str]:
        """Take over the unfinished jobs of server processes that are gone (call once at start-up); their ids."""
        if self._store is None:
            return []
        taken = []
        for job in self._store.unfinished():
            if not alive(job.owner, job.owner_start) and self._take_over(job) is not None:
                taken.append(job.id)
        return taken

    def get(self, job_id: str, *, tenant: str) -> Job | None:
        """The job, only if it belongs to ``tenant`` (another tenant's job id reads as unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job = dataclasses.replace(job)  # a snapshot: the reader thread keeps updating the original
        if job is None and self._store is not None:
            job = self._store.get(job_id)
            if job is not None and job.status in ("queued", "running") and not alive(job.owner, job.owner_start):
                job = self._take_over(job) or self._store.get(job_id)
        return visible(job, tenant)

    def for_tenant(self, *, tenant: str, limit: int) -> list[Job]:
        """The tenant's newest ``limit`` jobs, newest first (every server process's, from the job store)."""
        if self._store is not None:
            return self._store.for_tenant(tenant, limit)
        with self._lock:
            mine = [dataclasses.replace(j) for j in self._jobs.values() if j.tenant == tenant]
        return mine[::-1][:limit]

    def cancel(self, job_id: str, *, tenant: str) -> Job | None:
        """Cancel a job of this process that has not started; None if unknown. A running job cannot be stopped half-way
        here (that needs the queue, ``[queue] enabled``): :class:`JobNotCancellable`, as for one that has ended."""
        with self._lock:
            job = self._jobs.get(job_id)
            waiting = [t for t in self._queued if json.loads(t)["job_id"] == job_id]
            if job is not None and job.tenant == tenant and waiting:
                self._queued.remove(waiting[0])
        job = visible(job, tenant) or visible(self._store.get(job_id) if self._store is not None else None, tenant)
        if job is None:
            return None
        if not waiting:
            why = f"has already {job.status}" if job.finished else "is running in a server's ingest subprocess"
            raise JobNotCancellable(f"job {job_id} {why}")
        self._finish(job_id, "cancelled", error="cancelled on request")
        with self._lock:
            return dataclasses.replace(self._jobs[job_id])

    def _take_over(self, job: Job) -> Job | None:
        """Claim an orphaned job: run it if it never started (and its upload is still there), else fail it with the
        result the index holds. None if another process claimed it first."""
        assert self._store is not None
        claimed = self._store.claim(job, *self._me)
        if claimed is None:
            return None
        stop_worker(claimed)  # nothing may still be writing while the index is read
        with self._lock:
            self._jobs[claimed.id] = claimed
            if claimed.status == "queued" and Path(claimed.job_dir).is_dir() and not self._closed:
                self._queued.append(_task(claimed))
                self._pump()
                return dataclasses.replace(claimed)
        self._fail(claimed.id, "the server process running this job stopped before it finished")
        with self._lock:
            return dataclasses.replace(self._jobs[claimed.id])

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until a job this runner holds has finished (or ``timeout`` passed); a snapshot of it, or None if
        this runner does not hold it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._finished:
            while (job := self._jobs.get(job_id)) is not None and job.status in ("queued", "running"):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._finished.wait(left)
            return None if job is None else dataclasses.replace(job)

    def _save(self, job: Job) -> None:
        if self._store is not None:
            try:
                self._store.put(job)
            except (sqlite3.Error, StoreError):
                log.exception("job %s: could not record its state", job.id)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status in ("queued", "running"))

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closed = True
            proc = self._proc
        if proc is not None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._reader is not None:
            self._reader.join(timeout)

    # -- worker ----------------------------------------------------------------------------------------------------

    def _pump(self) -> None:
        """Hand queued tasks to the worker, starting one if needed. Called with the lock held."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = spawn(self._settings_json)
            self._sent = []
            self._reader = threading.Thread(
                target=self._read_events, args=(self._proc,), name="ragwright-jobs", daemon=True
            )
            self._reader.start()
        if self._sent or not self._queued:
            return  # one task at a time: the pipe never fills, and a crash loses only the running job
        assert self._proc.stdin is not None
        task = self._queued.pop(0)
        self._sent.append(json.loads(task)["job_id"])
        try:
            self._proc.stdin.write(task + "\n")
            self._proc.stdin.flush()
        except OSError:  # the worker just died: the reader thread fails its job and restarts it
            pass

    def _read_events(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._apply(event)
        code = proc.wait()
        with self._lock:
            if self._proc is not proc:
                return
            lost, self._sent = list(self._sent), []
            self._proc = None
        for job_id in lost:
            self._fail(job_id, f"the ingest worker exited unexpectedly (exit code {code})")
        with self._lock:
            if self._queued and not self._closed:
                self._pump()

    def _apply(self, event: dict[str, Any]) -> None:
        kind, job_id = event.get("event"), str(event.get("job_id"))
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            if kind == "start":
                job.status, job.started_at = "running", time.time()
                if self._proc is not None:
                    job.worker = (self._proc.pid, process_start(self._proc.pid))
                self._save(job)
            elif kind == "plan":
                job.existing = {str(k): (None if v is None else str(v)) for k, v in event["existing"].items()}
                self._save(job)
            elif kind == "progress":
                job.files_done, job.files_total = int(event["files_done"]), int(event["files_total"])
                job.chunks_embedded = int(event["chunks"])
                self._save(job)
        if kind == "done":
            self._finish(job_id, "succeeded", result=event["summary"])
        elif kind == "failed":
            self._fail(job_id, str(event["message"]))

    def _fail(self, job_id: str, why: str) -> None:
        """Fail a job with the result the index holds (its upload is still on disk until :meth:`_finish`)."""
        with self._lock:
            job = self._jobs.get(job_id)
            snapshot = None if job is None else dataclasses.replace(job)
        if snapshot is None:
            return
        try:
            with index_reader(self._settings) as lookup:
                result, done = reconcile(snapshot, lookup, why)
        except (sqlite3.Error, OSError, StoreError):
            log.exception("job %s: could not reconcile it with the index", job_id)
            result, done = None, snapshot.files_done
        self._finish(job_id, "failed", result=result, error=why, files_done=done)

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        files_done: int | None = None,
    ) -> None:
        with self._lock:
            upload = self._jobs[job_id].job_dir if job_id in self._jobs else None
        if upload:  # before the status is final, so whoever sees it finished never finds its upload on disk
            shutil.rmtree(upload, ignore_errors=True)
        with self._lock:
            if job_id in self._sent:
                self._sent.remove(job_id)
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.status, job.finished_at, job.result, job.error = status, time.time(), result, error
            if files_done is not None:
                job.files_done = files_done
            elif result is not None:
                job.files_done = job.files_total
            self._save(job)
            self._finished.notify_all()
            if not self._closed and self._proc is not None:
                self._pump()
        report_done(self._on_done, job)

    def _trim(self) -> None:
        """Forget old finished jobs (called with the lock held)."""
        finished = [j.id for j in self._jobs.values() if j.finished]
        for job_id in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[job_id]
        self._submitted += 1
        if self._store is not None and self._submitted % 100 == 0:
            self._store.trim(self._keep)


def _task(job: Job) -> str:
    """The worker's JSON line for ``job``."""
    return json.dumps(worker_task(job))
