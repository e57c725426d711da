"""After a crash, a job's result comes from the index, not from the last progress event that happened to arrive.

The index commits one transaction per document; the job record lives in another file and hears of progress a moment
later, so a kill (of the worker or of the server) can fall between the two. :func:`reconcile` therefore rebuilds the
result from what is true: a file counts as ingested when the index holds a document of that id whose content hash is
the hash of the uploaded bytes (still on disk, since the job never finished), and the worker's ``plan`` (each file's
stored hash before the job wrote anything) tells added, updated and unchanged apart.

Example::

    with index_reader(settings) as lookup:
        summary, done = reconcile(job, lookup, "the ingest worker exited unexpectedly (exit code -9)")
    summary["added"], summary["failures"][0]["reason"]
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragwright.config import Settings
from ragwright.documents.model import source_hash
from ragwright.ingest.pipeline import FileOutcome, IngestReport
from ragwright.interfaces.http.job_store import Job
from ragwright.processes import alive
from ragwright.store.base import DocumentInfo
from ragwright.store.sql import document_row

__all__ = ["DocumentLookup", "index_reader", "reconcile", "stop_worker"]

DocumentLookup = Callable[[str, str], DocumentInfo | None]
"""``(store tenant, doc_id) -> DocumentInfo | None``: what the index holds for one document."""


@contextmanager
def index_reader(settings: Settings) -> Iterator[DocumentLookup | None]:
    """A document lookup over the index ``settings`` name, opened for this block (None: there is no index yet).

    A SQLite index is opened read-only (the worker that crashed may have held the write lock); a PostgreSQL store is
    opened with a one-connection pool."""
    if settings.uses_postgres:
        from ragwright.store.postgres import PostgresStore

        store = PostgresStore(settings.store_dsn(), pool_min=1, pool_max=1)
        try:
            yield store.document
        finally:
            store.close()
        return
    if not settings.index_path.exists():
        yield None
        return
    db = sqlite3.connect(f"file:{settings.index_path}?mode=ro", uri=True, timeout=10.0)
    try:
        yield lambda tenant, doc_id: document_row(db, tenant, doc_id)
    finally:
        db.close()


def _hash(path: Path) -> str | None:
    try:
        return source_hash(path.read_bytes())
    except OSError:
        return None


def reconcile(job: Job, lookup: DocumentLookup | None, why: str) -> tuple[dict[str, Any], int]:
    """The job's result as the index holds it (``IngestReport.summary`` shape) and how many files it holds;
    ``lookup`` reads the index (:func:`index_reader`; None when there is no index)."""
    report = IngestReport(chunks_embedded=job.chunks_embedded)
    for name in job.files:
        digest = _hash(Path(job.job_dir) / name) if job.job_dir else None
        info = lookup(job.store_tenant, name) if lookup is not None else None
        if digest is None or info is None or info.content_hash != digest:
            report.outcomes.append(FileOutcome(name, "failed", reason=f"not ingested: {why}"))
            continue
        before = (job.existing or {}).get(name)
        if before == digest:
            report.outcomes.append(FileOutcome(name, "unchanged"))
        else:
            report.outcomes.append(FileOutcome(name, "updated" if before else "added", chunks=info.n_chunks))
    if job.started_at is not None:
        report.seconds = time.time() - job.started_at
    return report.summary(), sum(o.status != "failed" for o in report.outcomes)


def stop_worker(job: Job, grace: float = 5.0) -> None:
    """Make sure the worker that ran ``job`` for a dead server is gone before the index is read: it stops by itself
    within a fraction of a second of its server's death (it watches its parent), else it is killed."""
    if job.worker is None:
        return
    pid, start = job.worker
    deadline = time.monotonic() + grace
    while alive(pid, start):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                return
            deadline = time.monotonic() + grace
        time.sleep(0.02)
