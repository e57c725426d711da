"""Ratings in PostgreSQL: the :class:`~ragwright.service.feedback.FeedbackStore` used when the store is PostgreSQL
(same columns as the SQLite table, so ``ragwright migrate`` can copy its rows as they are).

Example::

    store = PostgresFeedback(dsn)
    store.add(Feedback(tenant="acme", kb="default", rating=Rating.UP, question="q", answer="a [1]"))
"""

from __future__ import annotations

from typing import Any

from ragwright.service.feedback import COLUMNS, Feedback, FeedbackQuery, from_row, to_row, where
from ragwright.service.postgres_db import PostgresDatabase
from ragwright.sqlite_migrations import Schema

__all__ = ["PG_FEEDBACK", "PostgresFeedback"]

PG_FEEDBACK = Schema("pg_feedback")
"""The ratings table's migrations in PostgreSQL, recorded as ``pg_feedback.<name>``."""


@PG_FEEDBACK.migration
def m001_feedback(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE feedback (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, kb TEXT NOT NULL,"
        " rating TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT NULL,"
        " abstained INTEGER NOT NULL, cited_docs TEXT NOT NULL, cited_chunks TEXT NOT NULL, model TEXT,"
        " prompt_version TEXT, answerability DOUBLE PRECISION, trace_id TEXT, key_id TEXT, history TEXT NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL)"
    )
    conn.execute("CREATE INDEX feedback_by_tenant ON feedback (tenant, created_at)")


class PostgresFeedback:
    """Ratings in PostgreSQL. Safe to share between threads."""

    def __init__(self, dsn: str) -> None:
        self._db = PostgresDatabase(dsn, PG_FEEDBACK, name="feedback", pool_max=2)
        self.where = self._db.where

    def add(self, feedback: Feedback) -> Feedback:
        stored = feedback.stamped()
        with self._db.connection() as conn:
            conn.execute(f"INSERT INTO feedback ({COLUMNS}) VALUES ({', '.join(['%s'] * 17)})", to_row(stored))
        return stored

    def list(self, query: FeedbackQuery) -> list[Feedback]:
        clause, params = where(query, "%s")
        sql = f"SELECT {COLUMNS} FROM feedback{clause} ORDER BY created_at, id LIMIT %s"
        with self._db.connection() as conn:
            rows = conn.execute(sql, (*params, query.limit)).fetchall()
        return [from_row(r) for r in rows]

    def close(self) -> None:
        self._db.close()
