"""The ingest job API every front door uses, and the one place that picks who runs the jobs.

:func:`open_jobs` answers with the embedded :class:`~ragwright.interfaces.http.jobs.JobRunner` (a subprocess of this
process parses the upload) or, with ``[queue] enabled``, :class:`~ragwright.interfaces.http.queued_jobs.QueuedJobs`
(the upload goes on the PostgreSQL queue for ``ragwright worker`` processes). The HTTP service and the MCP server's
``ingest`` tool both call it, so an upload takes the same path whichever door it came in by.

What both runners share lives here too: the :class:`Submission` a front door hands over, the tenant rule of a read
(:func:`visible`) and the guarded ``on_done`` call (:func:`report_done`).

Example::

    jobs = open_jobs(settings, on_done=lambda job: print(job.status))
    job_id = jobs.new_id()
    job = jobs.submit(Submission(job_id, tenant="acme", kb="default", store_tenant="acme", job_dir=d, files=("a.md",),
                                 tags=()))
    jobs.wait(job.id, timeout=60)
    jobs.close()
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ragwright.config import Settings
from ragwright.interfaces.http.job_store import Job, JobStore

__all__ = ["Jobs", "Submission", "open_jobs", "report_done", "visible"]

log = logging.getLogger("ragwright.http.jobs")


@dataclass(frozen=True, slots=True)
class Submission:
    """One upload to ingest, as a front door hands it over: its files wait in ``job_dir`` under these names; ``tags``
    go on its documents, ``key_tags`` are the submitting key's limits (the worker checks every document against
    them, and only keys whose scope covers them may read the job)."""

    job_id: str
    tenant: str
    kb: str
    store_tenant: str
    job_dir: Path
    files: tuple[str, ...]
    tags: tuple[str, ...]
    key_tags: tuple[str, ...] = ()

    def job(self, *, job_dir: str = "") -> Job:
        """The new job's record; ``job_dir`` when the upload waits on this host's disk for the job's length."""
        return Job(
            id=self.job_id,
            tenant=self.tenant,
            kb=self.kb,
            store_tenant=self.store_tenant,
            files=list(self.files),
            tags=self.tags,
            files_total=len(self.files),
            key_tags=self.key_tags,
            job_dir=job_dir,
        )


def visible(job: Job | None, tenant: str) -> Job | None:
    """``job`` if it belongs to ``tenant``: another tenant's job reads as unknown."""
    return job if job is not None and job.tenant == tenant else None


def report_done(on_done: Callable[[Job], None] | None, job: Job) -> None:
    """Call ``on_done`` for a job that has ended; its failure is logged, never raised into the runner."""
    if on_done is None:
        return
    try:
        on_done(job)
    except Exception:
        log.exception("job %s: post-processing failed", job.id)


class Jobs(Protocol):
    """Submit, read, wait for and cancel ingest jobs (tenant-scoped: another tenant's job reads as unknown)."""

    def new_id(self) -> str: ...

    def submit(self, upload: Submission) -> Job: ...

    def get(self, job_id: str, *, tenant: str) -> Job | None: ...

    def for_tenant(self, *, tenant: str, limit: int) -> list[Job]: ...

    def cancel(self, job_id: str, *, tenant: str) -> Job | None: ...

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None: ...

    def pending(self) -> int: ...

    def recover(self) -> list[str]: ...

    def close(self) -> None: ...


def open_jobs(
    settings: Settings, *, store: JobStore | None = None, on_done: Callable[[Job], None] | None = None
) -> Jobs:
    """The job runner ``settings`` ask for. ``store``: the jobs table to record jobs in (the queue needs the
    PostgreSQL one and opens its own when none is given); ``on_done`` is called once for each job when it ends."""
    if settings.queue.enabled:  # uploads go on the queue for `ragwright worker` processes (docs/scale-out.md)
        from ragwright.interfaces.http.queued_jobs import QueuedJobs
        from ragwright.service.postgres_jobs import PostgresJobStore

        if store is not None and not isinstance(store, PostgresJobStore):
            raise TypeError("the ingest queue records its jobs in PostgreSQL")
        return QueuedJobs(settings, store, on_done=on_done)
    from ragwright.interfaces.http.jobs import JobRunner

    return JobRunner(settings, on_done=on_done, store=store)
