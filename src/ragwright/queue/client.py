"""The API side of the ingest queue: put a job on it, cancel it, read its state.

Example::

    queue = IngestQueue(settings)
    queue_id = queue.defer("job_123")
    queue.cancel(queue_id)        # a waiting job is cancelled at once, a running one is asked to stop
    queue.retry(queue_id)         # a failed (dead-lettered) job waits for a worker again
    queue.close()
"""

from __future__ import annotations

import datetime

import psycopg
from procrastinate import App, SyncPsycopgConnector
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

from ragwright.config import Settings
from ragwright.errors import JobNotRetryable, StoreUnavailable
from ragwright.queue.schema import TASK, migrate_queue
from ragwright.service.postgres_db import server_label

__all__ = ["IngestQueue"]


class IngestQueue:
    """A synchronous handle on the ingest queue in the PostgreSQL store (a small connection pool)."""

    def __init__(self, settings: Settings) -> None:
        dsn = settings.store_dsn()
        self._where = server_label(dsn)
        self._queue = settings.queue.name
        migrate_queue(dsn)
        self._app = App(connector=SyncPsycopgConnector(conninfo=dsn, min_size=1, max_size=2, name="ragwright-queue"))
        self._app.open()

    def defer(self, job_id: str) -> int:
        """Queue the ingest of job ``job_id`` (its row and upload are already in the jobs tables); its queue id."""
        try:
            return int(self._app.configure_task(TASK, queue=self._queue).defer(job_id=job_id))
        except ConnectorException as exc:
            raise StoreUnavailable(f"cannot queue the job at {self._where}: {type(exc.__cause__).__name__}") from None

    def cancel(self, queue_id: int) -> bool:
        """Cancel a waiting job, or ask the worker running it to stop; False if it is neither waiting nor running."""
        try:
            return bool(self._app.job_manager.cancel_job_by_id(queue_id, abort=True))
        except ConnectorException as exc:
            raise StoreUnavailable(f"cannot cancel the job at {self._where}: {type(exc.__cause__).__name__}") from None

    def running(self, queue_id: int) -> bool:
        """Whether a worker has the job now."""
        try:
            return self._app.job_manager.get_job_status(queue_id) == Status.DOING
        except ConnectorException as exc:
            raise StoreUnavailable(f"cannot read the queue at {self._where}: {type(exc.__cause__).__name__}") from None

    def retry(self, queue_id: int) -> None:
        """Put a failed job back on the queue for a worker to take now (procrastinate's ``retry_job_by_id``: the job
        keeps its id and its attempt count goes up by one). :class:`JobNotRetryable` if it is not failed."""
        try:
            manager = self._app.job_manager
            found = manager.list_jobs(id=queue_id)
            if not found or found[0].status != Status.FAILED.value:
                raise JobNotRetryable(f"queue job {queue_id} is {found[0].status if found else 'gone'}, not failed")
            manager.retry_job_by_id(queue_id, retry_at=datetime.datetime.now(datetime.UTC))
        except ConnectorException as exc:
            if isinstance(exc.__cause__, psycopg.errors.RaiseException):  # no longer failed: another retry was first
                raise JobNotRetryable(f"queue job {queue_id} is no longer failed") from None
            raise StoreUnavailable(f"cannot retry the job at {self._where}: {type(exc.__cause__).__name__}") from None

    def close(self) -> None:
        self._app.close()
