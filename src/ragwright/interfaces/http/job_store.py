"""Ingest jobs as records: :class:`Job`, and :class:`JobStore`, the table every server process reads (SQLite here,
:class:`~ragwright.service.postgres_jobs.PostgresJobStore` when the store is PostgreSQL; :func:`open_job_store`).

A job names the server process that owns it by pid *and* start time, so after a restart (or in a container where the
new server gets the old pid) a job whose owner is gone is recognised as orphaned and taken over by exactly one process
(:meth:`JobStore.claim`, a compare-and-set on the row).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ragwright.processes import process_start
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = [
    "FINISHED",
    "SCHEMA",
    "Job",
    "JobStatus",
    "JobStore",
    "SQLiteJobStore",
    "job_from_json",
    "job_to_json",
    "new_job_id",
    "open_job_store",
    "worker_task",
]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
"""The statuses a job does not leave."""


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
    owner_start: float | None = field(default_factory=lambda: process_start(os.getpid()))
    """When that process started (Linux), so a recycled pid is not mistaken for it."""
    job_dir: str = ""
    """Where the upload waits; removed when the job ends."""
    worker: tuple[int, float | None] | None = None
    """The worker process (pid, start) running the job, so a server that takes the job over can stop it."""
    existing: dict[str, str | None] | None = None
    """Each file's stored content hash before the job wrote anything (the worker's ``plan``): with the index, it
    tells added, updated and unchanged apart when a job is reconciled after a crash."""
    key_tags: tuple[str, ...] = ()
    """The tag limits of the key that submitted it (empty: none): the worker enforces them on every document, and
    only keys whose scope covers them may read the job (``service.access.TagScope``)."""

    attempts: int = 0
    """Attempts started so far (on the queue a failed or interrupted attempt is retried, ``[queue] retries``)."""
    queue_id: int | None = None
    """The job's id on the ingest queue (``[queue] enabled``); None when a server process runs it itself."""
    dead_letter: bool = False
    """Failed for good after its last retry (the queue's dead-letter state); its upload is kept for a re-run."""

    @property
    def finished(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self.status in FINISHED

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
            "attempts": self.attempts,
            "dead_letter": self.dead_letter,
        }


def new_job_id() -> str:
    """A fresh job id: ``job_`` and 20 random hex digits."""
    return "job_" + uuid.uuid4().hex[:20]


def job_to_json(job: Job) -> str:
    """The stored form of a job (the ``data`` column of every backend)."""
    return json.dumps(dataclasses.asdict(job))


def job_from_json(text: str) -> Job:
    """A job from its stored form."""
    data = json.loads(text)
    data["tags"] = tuple(data["tags"])
    data["key_tags"] = tuple(data.get("key_tags", ()))
    if data.get("worker") is not None:
        data["worker"] = tuple(data["worker"])
    return Job(**data)


def worker_task(job: Job, job_dir: str | None = None) -> dict[str, Any]:
    """The ingest worker's task for ``job`` (:mod:`ragwright.interfaces.http.worker`), its upload in ``job_dir``
    (default: where the job says)."""
    return {
        "job_id": job.id,
        "tenant": job.store_tenant,
        "job_dir": job.job_dir if job_dir is None else job_dir,
        "files": job.files,
        "tags": list(job.tags),
        "key_tags": list(job.key_tags),
        "api_tenant": job.tenant,
        "kb": job.kb,
    }


SCHEMA = Schema("jobs")


@SCHEMA.migration
def m001_jobs(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, "
        "tenant TEXT NOT NULL, data TEXT NOT NULL, finished INTEGER NOT NULL, "
        "updated_at REAL NOT NULL)"
    )


class JobStore(Protocol):
    """Where jobs are recorded so every server process can read them (one implementation per backend)."""

    def put(self, job: Job) -> None: ...

    def get(self, job_id: str) -> Job | None: ...

    def unfinished(self) -> list[Job]:
        """Jobs recorded as queued or running, by any server process, oldest first."""
        ...

    def claim(self, job: Job, owner: int, owner_start: float | None) -> Job | None:
        """Make this process the owner of ``job`` if its row still says what ``job`` says (compare-and-set, so of
        several server processes exactly one takes over an orphaned job); the claimed job, or None."""
        ...

    def for_tenant(self, tenant: str, limit: int) -> list[Job]:
        """The tenant's newest ``limit`` jobs, newest first."""
        ...

    def trim(self, keep: int) -> None:
        """Forget all but the newest ``keep`` finished jobs."""
        ...

    def close(self) -> None: ...


class SQLiteJobStore:
    """Jobs as rows of a SQLite table, so every server process (``serve --workers N``) can answer ``GET /v1/jobs``.

    Example::

        store = SQLiteJobStore(tmp_path / "service.sqlite")
        store.put(job)
        store.get(job.id).status
    """

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_service_db(Path(path), SCHEMA)

    def put(self, job: Job) -> None:
        data = job_to_json(job)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?)",
                (job.id, job.tenant, data, int(job.finished), time.time()),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else job_from_json(row[0])

    def unfinished(self) -> list[Job]:
        """Jobs recorded as queued or running, by any server process, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM jobs WHERE finished = 0 ORDER BY rowid").fetchall()
        return [job_from_json(r[0]) for r in rows]

    def claim(self, job: Job, owner: int, owner_start: float | None) -> Job | None:
        """Make this process the owner of ``job`` if its row still says what ``job`` says (compare-and-set, so of
        several server processes exactly one takes over an orphaned job); the claimed job, or None."""
        claimed = dataclasses.replace(job, owner=owner, owner_start=owner_start)
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE id = ?", (job.id,)).fetchone()
            if row is None or job_from_json(row[0]) != job:
                return None
            cur = self._db.execute(
                "UPDATE jobs SET data = ?, updated_at = ? WHERE id = ? AND data = ?",
                (job_to_json(claimed), time.time(), job.id, row[0]),
            )
        return claimed if cur.rowcount == 1 else None

    def for_tenant(self, tenant: str, limit: int) -> list[Job]:
        """The tenant's newest ``limit`` jobs, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM jobs WHERE tenant = ? ORDER BY json_extract(data, '$.created_at') DESC LIMIT ?",
                (tenant, limit),
            ).fetchall()
        return [job_from_json(r[0]) for r in rows]

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


def open_job_store(settings: Settings) -> JobStore:
    """The job table ``settings`` name: PostgreSQL's with a PostgreSQL store, else ``<data_dir>/service.sqlite``."""
    if settings.uses_postgres:
        from ragwright.service.postgres_jobs import PostgresJobStore

        return PostgresJobStore(settings.store_dsn())
    return SQLiteJobStore(settings.data_dir / "service.sqlite")
