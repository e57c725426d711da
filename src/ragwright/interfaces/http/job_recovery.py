"""After a crash, a job's result comes from the index, not from the last progress event that happened to arrive.

The index commits one transaction per document; the job record lives in another file and hears of progress a moment
later, so a kill (of the worker or of the server) can fall between the two. :func:`reconcile` therefore rebuilds the
result from what is true: a file counts as ingested when the index holds a document of that id whose content hash is
the hash of the uploaded bytes (still on disk, since the job never finished), and the worker's ``plan`` (each file's
stored hash before the job wrote anything) tells added, updated and unchanged apart.

Example::

    summary, done = reconcile(job, settings.index_path, "the ingest worker exited unexpectedly (exit code -9)")
    summary["added"], summary["failures"][0]["reason"]
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from ragwright.documents.model import source_hash
from ragwright.ingest.pipeline import FileOutcome, IngestReport
from ragwright.interfaces.http.job_store import Job, alive
from ragwright.store.sql import document_row

__all__ = ["reconcile", "stop_worker"]


def _hash(path: Path) -> str | None:
    try:
        return source_hash(path.read_bytes())
    except OSError:
        return None


def reconcile(job: Job, index_path: Path, why: str) -> tuple[dict[str, Any], int]:
    """The job's result as the index holds it (``IngestReport.summary`` shape) and how many files it holds."""
    db: sqlite3.Connection | None = None
    if index_path.exists():
        db = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True, timeout=10.0)
    report = IngestReport(chunks_embedded=job.chunks_embedded)
    try:
        for name in job.files:
            digest = _hash(Path(job.job_dir) / name) if job.job_dir else None
            info = document_row(db, job.store_tenant, name) if db is not None else None
            if digest is None or info is None or info.content_hash != digest:
                report.outcomes.append(FileOutcome(name, "failed", reason=f"not ingested: {why}"))
                continue
            before = (job.existing or {}).get(name)
            if before == digest:
                report.outcomes.append(FileOutcome(name, "unchanged"))
            else:
                report.outcomes.append(FileOutcome(name, "updated" if before else "added", chunks=info.n_chunks))
    finally:
        if db is not None:
            db.close()
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
