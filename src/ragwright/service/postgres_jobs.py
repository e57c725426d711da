"""Ingest jobs in PostgreSQL: the :class:`~ragwright.interfaces.http.job_store.JobStore` used when the store is
PostgreSQL, so every server process on every host answers ``GET /v1/jobs/{id}`` and takes over orphaned jobs.

Same columns as the SQLite ``jobs`` table (the job as JSON text in ``data``), plus ``seq``, an identity column that
keeps insertion order for :meth:`PostgresJobStore.unfinished` (SQLite's ``rowid``). :meth:`PostgresJobStore.claim` is
the same compare-and-set on the row, so of several processes exactly one takes an orphaned job over.

With the ingest queue (``[queue] enabled``) an upload's bytes wait in ``job_files`` (:meth:`PostgresJobStore.submit`
writes them with the job row in one transaction), so a ``ragwright worker`` on any host can read them;
:meth:`PostgresJobStore.update` is the read-modify-write every status change of a queued job goes through.

Example::

    jobs = PostgresJobStore(dsn)
    jobs.put(job)
    jobs.get(job.id).status
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from ragwright.interfaces.http.job_store import Job, job_from_json, job_to_json
from ragwright.service.postgres_db import PostgresDatabase
from ragwright.sqlite_migrations import Schema

__all__ = ["PG_JOBS", "PostgresJobStore"]

PG_JOBS = Schema("pg_jobs")
"""The job table's migrations in PostgreSQL, recorded as ``pg_jobs.<name>``."""


@PG_JOBS.migration
def m001_jobs(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, data TEXT NOT NULL,"
        " finished INTEGER NOT NULL, updated_at DOUBLE PRECISION NOT NULL,"
        " seq BIGINT GENERATED ALWAYS AS IDENTITY)"
    )
    conn.execute("CREATE INDEX jobs_unfinished ON jobs (seq) WHERE finished = 0")


@PG_JOBS.migration
def m002_job_files(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE job_files (job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, name TEXT NOT NULL,"
        " data BYTEA NOT NULL, PRIMARY KEY (job_id, name))"
    )


def _row(job: Job) -> tuple[Any, ...]:
    return (job.id, job.tenant, job_to_json(job), int(job.finished), time.time())


_UPSERT = (
    "INSERT INTO jobs (id, tenant, data, finished, updated_at) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, data = excluded.data,"
    " finished = excluded.finished, updated_at = excluded.updated_at"
)


class PostgresJobStore:
    """Jobs as rows of a PostgreSQL table. Safe to share between threads (a connection pool)."""

    def __init__(self, dsn: str) -> None:
        self._db = PostgresDatabase(dsn, PG_JOBS, name="jobs", pool_max=2)
        self.where = self._db.where

    def put(self, job: Job) -> None:
        with self._db.connection() as conn:
            conn.execute(_UPSERT, _row(job))

    def submit(self, job: Job, files: dict[str, bytes]) -> None:
        """Record a new job and its upload's bytes together (a worker on another host reads them from here)."""
        with self._db.transaction() as conn:
            conn.execute(_UPSERT, _row(job))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO job_files (job_id, name, data) VALUES (%s, %s, %s)",
                    [(job.id, name, data) for name, data in files.items()],
                )

    def files(self, job_id: str) -> dict[str, bytes]:
        """The upload of a job, by file name (empty once it was dropped)."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT name, data FROM job_files WHERE job_id = %s", (job_id,)).fetchall()
        return {str(name): bytes(data) for name, data in rows}

    def drop_files(self, job_id: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM job_files WHERE job_id = %s", (job_id,))

    def update(self, job_id: str, change: Callable[[Job], Job | None]) -> Job | None:
        """Apply ``change`` to the stored job under a row lock (one writer at a time): it returns the new job, or None
        to leave the row as it is. The job as stored afterwards; None when there is no such job."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT data FROM jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                return None
            job = job_from_json(row[0])
            new = change(dataclasses.replace(job))
            if new is None:
                return job
            conn.execute(_UPSERT, _row(new))
            return new

    def ended_among(self, job_ids: list[str]) -> dict[str, Job | None]:
        """Which of ``job_ids`` still exist: each one's job if it has ended, None while it is queued or running (only
        the ended ones' rows are read whole)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, CASE WHEN finished = 1 THEN data END FROM jobs WHERE id = ANY(%s)", (job_ids,)
            ).fetchall()
        return {str(job_id): None if data is None else job_from_json(data) for job_id, data in rows}

    def dead_letters(self, tenant: str | None, limit: int) -> list[Job]:
        """The newest ``limit`` dead-lettered jobs (failed for good on the queue, their uploads kept), of ``tenant`` or
        of every tenant, newest first."""
        where, args = ("AND tenant = %s", [tenant]) if tenant is not None else ("", [])
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT data FROM jobs WHERE finished = 1 AND (data::jsonb ->> 'dead_letter')::boolean {where}"
                " ORDER BY seq DESC LIMIT %s",
                (*args, limit),
            ).fetchall()
        return [job_from_json(r[0]) for r in rows]

    def for_tenant(self, tenant: str, limit: int) -> list[Job]:
        """The tenant's newest ``limit`` jobs, newest first."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT data FROM jobs WHERE tenant = %s ORDER BY seq DESC LIMIT %s", (tenant, limit)
            ).fetchall()
        return [job_from_json(r[0]) for r in rows]

    def get(self, job_id: str) -> Job | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT data FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return None if row is None else job_from_json(row[0])

    def unfinished(self) -> list[Job]:
        """Jobs recorded as queued or running, by any server process, oldest first."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT data FROM jobs WHERE finished = 0 ORDER BY seq").fetchall()
        return [job_from_json(r[0]) for r in rows]

    def claim(self, job: Job, owner: int, owner_start: float | None) -> Job | None:
        """Make this process the owner of ``job`` if its row still says what ``job`` says; the claimed job, or None."""
        claimed = dataclasses.replace(job, owner=owner, owner_start=owner_start)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT data FROM jobs WHERE id = %s FOR UPDATE", (job.id,)).fetchone()
            if row is None or job_from_json(row[0]) != job:
                return None
            conn.execute(
                "UPDATE jobs SET data = %s, updated_at = %s WHERE id = %s",
                (job_to_json(claimed), time.time(), job.id),
            )
        return claimed

    def trim(self, keep: int) -> None:
        """Forget all but the newest ``keep`` finished jobs."""
        with self._db.connection() as conn:
            conn.execute(
                "DELETE FROM jobs WHERE finished = 1 AND id NOT IN (SELECT id FROM jobs WHERE finished = 1"
                " ORDER BY updated_at DESC LIMIT %s)",
                (keep,),
            )

    def close(self) -> None:
        self._db.close()
