"""Background ingest jobs: a registry the API reads, and the one worker subprocess that runs them in order.

Jobs are kept in memory by the process that runs them and written to a :class:`JobStore` (SQLite, the newest
``keep`` finished ones), so every server process can report every job. If the worker process dies (a crash inside a
parser), the job it was running fails with that reason and the next job starts a fresh worker; if the server process
that owned an unfinished job is gone, reading the job marks it failed.

Example::

    jobs = JobRunner(settings, on_done=refresh)
    job = jobs.submit(jobs.new_id(), tenant="acme", kb="default", store_tenant="acme", job_dir=d, files=["a.md"],
                      tags=())
    jobs.get(job.id, tenant="acme").status     # "queued" -> "running" -> "succeeded" / "failed"
    jobs.close()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ragwright.config import Settings
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

log = logging.getLogger("ragwright.http.jobs")
JobStatus = Literal["queued", "running", "succeeded", "failed"]


@dataclass
class Job:
    """One upload's ingest job: files, status, progress and result, as stored in the jobs table."""

    id: str
    tenant: str
    kb: str
    store_tenant: str
    files: list[str]
    tags: tuple[str, ...]
    status: JobStatus = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    files_done: int = 0
    files_total: int = 0
    chunks_embedded: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    owner: int = field(default_factory=os.getpid)
    """The server process running the job."""
    key_tags: tuple[str, ...] = ()
    """The tag limits of the key that submitted it (empty: none): the worker enforces them on every document, and
    only keys whose scope covers them may read the job (``service.access.TagScope``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "job",
            "status": self.status,
            "knowledge_base": self.kb,
            "files": list(self.files),
            "tags": list(self.tags),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": {
                "files_done": self.files_done,
                "files_total": self.files_total or len(self.files),
                "chunks_embedded": self.chunks_embedded,
            },
            "result": self.result,
            "error": self.error,
        }


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


SCHEMA = Schema("jobs")


@SCHEMA.migration
def m001_jobs(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, "
        "tenant TEXT NOT NULL, data TEXT NOT NULL, finished INTEGER NOT NULL, "
        "updated_at REAL NOT NULL)"
    )


class JobStore:
    """Jobs as rows of a SQLite table, so every server process (``serve --workers N``) can answer ``GET /v1/jobs``.

    Example::

        store = JobStore(tmp_path / "service.sqlite")
        store.put(job)
        store.get(job.id).status
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_service_db(Path(path), SCHEMA)

    def put(self, job: Job) -> None:
        data = json.dumps(dataclasses.asdict(job))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?)",
                (job.id, job.tenant, data, int(job.status in ("succeeded", "failed")), time.time()),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        data["tags"] = tuple(data["tags"])
        data["key_tags"] = tuple(data.get("key_tags", ()))
        return Job(**data)

    def trim(self, keep: int) -> None:
        """Forget all but the newest ``keep`` finished jobs."""
        with self._lock:
            self._db.execute(
                "DELETE FROM jobs WHERE finished = 1 AND id NOT IN (SELECT id FROM jobs WHERE "
                "finished = 1 ORDER BY updated_at DESC LIMIT ?)",
                (keep,),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
        self._on_done = on_done
        self._keep = keep
        self._store = store
        self._submitted = 0
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._queued: list[str] = []  # tasks (JSON lines) not yet handed to a live worker
        self._sent: list[str] = []  # job ids handed to the current worker and not finished
        self._closed = False

    # -- API -------------------------------------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return "job_" + uuid.uuid4().hex[:20]

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
        task = json.dumps(
            {
                "job_id": job_id,
                "tenant": store_tenant,
                "job_dir": str(job_dir),
                "files": files,
                "tags": list(tags),
                "key_tags": list(key_tags),
            }
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is closed")
            self._jobs[job.id] = job
            self._trim()
            self._save(job)
            self._queued.append(task)
            self._pump()
        return job

    def get(self, job_id: str, *, tenant: str) -> Job | None:
        """The job, only if it belongs to ``tenant`` (another tenant's job id reads as unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job = dataclasses.replace(job)  # a snapshot: the reader thread keeps updating the original
        if job is None and self._store is not None:
            job = self._store.get(job_id)
            if job is not None and job.status in ("queued", "running") and not _alive(job.owner):
                job.status, job.finished_at = "failed", time.time()
                job.error = "the server process running this job stopped before it finished"
                self._save(job)
        return job if job is not None and job.tenant == tenant else None

    def _save(self, job: Job) -> None:
        if self._store is not None:
            try:
                self._store.put(job)
            except sqlite3.Error:
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
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ragwright.interfaces.http.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
            assert self._proc.stdin is not None
            self._proc.stdin.write(self._settings_json + "\n")
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
            self._finish(job_id, "failed", error=f"the ingest worker exited unexpectedly (exit code {code})")
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
                self._save(job)
            elif kind == "progress":
                job.files_done, job.files_total = int(event["files_done"]), int(event["files_total"])
                job.chunks_embedded = int(event["chunks"])
                self._save(job)
        if kind == "done":
            self._finish(job_id, "succeeded", result=event["summary"])
        elif kind == "failed":
            self._finish(job_id, "failed", error=str(event["message"]))

    def _finish(
        self, job_id: str, status: JobStatus, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        with self._lock:
            if job_id in self._sent:
                self._sent.remove(job_id)
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.status, job.finished_at, job.result, job.error = status, time.time(), result, error
            if result is not None:
                job.files_done = job.files_total
            self._save(job)
            if not self._closed and self._proc is not None:
                self._pump()
        if self._on_done is not None:
            try:
                self._on_done(job)
            except Exception:
                log.exception("job %s: post-processing failed", job_id)

    def _trim(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.status in ("succeeded", "failed")]
        for job_id in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[job_id]
        self._submitted += 1
        if self._store is not None and self._submitted % 100 == 0:
            self._store.trim(self._keep)
