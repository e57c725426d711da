"""The queue's tables in PostgreSQL: procrastinate's schema applied as a ragwright migration (``pg_queue.*``), so it
is created once, under the same advisory lock as every other table, by whichever process opens the queue first.

A later procrastinate release with schema changes gets its migration here (its ``sql/migrations/*.sql`` files, in
order), pinned with the version in ``pyproject.toml``.

Example::

    migrate_queue(settings.store_dsn())
"""

from __future__ import annotations

from typing import Any

import psycopg
from procrastinate.schema import SchemaManager

from ragwright.service.postgres_db import connect_error, server_label
from ragwright.sqlite_migrations import Schema
from ragwright.store.postgres_schema import migrate_postgres

__all__ = ["PG_QUEUE", "TASK", "migrate_queue"]

TASK = "ragwright.ingest"
"""The procrastinate task name of an ingest job (its one argument: ``job_id``, the row in the jobs table)."""

PG_QUEUE = Schema("pg_queue")


@PG_QUEUE.migration
def m001_procrastinate_3_10(conn: Any) -> None:
    conn.execute(SchemaManager.get_schema())  # no parameters: sent as one script


def migrate_queue(dsn: str) -> None:
    """Create (or bring up to date) the queue's tables in ``dsn``'s database."""
    where = server_label(dsn)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            migrate_postgres(conn, PG_QUEUE, where=where)
    except psycopg.Error as exc:
        raise connect_error(exc, where) from None
