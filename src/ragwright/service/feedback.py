"""Thumbs up or down on an answer, with a comment: stored per tenant, exported as eval cases.

A rating names the answer it judges by content (question, answer text, cited documents and passages, whether it
abstained, the model and prompt version, the answerability and the conversation before it), so it stays meaningful
after the documents or prompts change, and :func:`feedback_cases` can turn it into a golden-set case
(``ragwright eval import feedback``). One table, ``feedback``, in ``<data_dir>/service.sqlite`` (embedded) or in
PostgreSQL when the store is PostgreSQL (:mod:`ragwright.service.postgres_feedback`), through the one migration
mechanism.

Example::

    store = open_feedback(settings)
    store.add(Feedback(tenant="acme", kb="default", rating=Rating.DOWN, question="How loud is it?",
                       answer="It is quiet. [1]", comment="it says 38 dB on page 2"))
    [f.comment for f in store.list("acme")]        # ["it says 38 dB on page 2"]
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = ["Feedback", "FeedbackQuery", "FeedbackStore", "Rating", "SQLiteFeedback", "open_feedback"]

MAX_COMMENT = 4000


class Rating(StrEnum):
    """Thumbs up or down."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Feedback:
    """One rating of one answer (``id`` and ``created_at`` are set when it is stored)."""

    tenant: str
    kb: str
    rating: Rating
    question: str
    answer: str
    comment: str = ""
    abstained: bool = False
    cited_docs: tuple[str, ...] = ()
    """The documents the answer cited (or, for an abstention, the closest passages' documents)."""
    cited_chunks: tuple[str, ...] = ()
    model: str | None = None
    prompt_version: str | None = None
    answerability: float | None = None
    trace_id: str | None = None
    key_id: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    """The conversation before the question: ``(role, content)`` pairs, oldest first."""
    id: str = ""
    created_at: float = 0.0

    def stamped(self) -> Feedback:
        """This rating with a fresh id and the current time."""
        return replace(self, id=uuid.uuid4().hex, created_at=time.time())


@dataclass(frozen=True, slots=True)
class FeedbackQuery:
    """Which ratings to read: all tenants when ``tenant`` is None (the operator's export), else one tenant's."""

    tenant: str | None = None
    kb: str | None = None
    rating: Rating | None = None
    since: float | None = None
    limit: int = 10_000


class FeedbackStore(Protocol):
    """Where ratings live (one implementation per backend; :func:`open_feedback`)."""

    def add(self, feedback: Feedback) -> Feedback:
        """Store a rating; return it with its id and time."""
        ...

    def list(self, query: FeedbackQuery) -> list[Feedback]:
        """Ratings matching ``query``, oldest first."""
        ...

    def close(self) -> None: ...


COLUMNS = (
    "id, tenant, kb, rating, question, answer, comment, abstained, cited_docs, cited_chunks, model, prompt_version,"
    " answerability, trace_id, key_id, history, created_at"
)


def to_row(f: Feedback) -> tuple[Any, ...]:
    """The stored columns of ``f`` (lists as JSON text), in :data:`COLUMNS` order."""
    return (
        f.id,
        f.tenant,
        f.kb,
        f.rating.value,
        f.question,
        f.answer,
        f.comment,
        int(f.abstained),
        json.dumps(list(f.cited_docs)),
        json.dumps(list(f.cited_chunks)),
        f.model,
        f.prompt_version,
        f.answerability,
        f.trace_id,
        f.key_id,
        json.dumps([list(t) for t in f.history]),
        f.created_at,
    )


def from_row(row: Any) -> Feedback:
    """The inverse of :func:`to_row`."""
    return Feedback(
        id=row[0],
        tenant=row[1],
        kb=row[2],
        rating=Rating(row[3]),
        question=row[4],
        answer=row[5],
        comment=row[6],
        abstained=bool(row[7]),
        cited_docs=tuple(json.loads(row[8])),
        cited_chunks=tuple(json.loads(row[9])),
        model=row[10],
        prompt_version=row[11],
        answerability=row[12],
        trace_id=row[13],
        key_id=row[14],
        history=tuple((str(r), str(c)) for r, c in json.loads(row[15])),
        created_at=float(row[16]),
    )


def where(query: FeedbackQuery, mark: str) -> tuple[str, list[Any]]:
    """The WHERE clause (with ``mark`` as the placeholder: ``?`` or ``%s``) and its parameters."""
    parts: list[str] = []
    params: list[Any] = []
    for column, value in (("tenant", query.tenant), ("kb", query.kb), ("rating", query.rating)):
        if value is not None:
            parts.append(f"{column} = {mark}")
            params.append(str(value))
    if query.since is not None:
        parts.append(f"created_at >= {mark}")
        params.append(query.since)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


SCHEMA = Schema("feedback")


@SCHEMA.migration
def m001_feedback(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS feedback (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, kb TEXT NOT NULL,"
        " rating TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT NULL,"
        " abstained INTEGER NOT NULL, cited_docs TEXT NOT NULL, cited_chunks TEXT NOT NULL, model TEXT,"
        " prompt_version TEXT, answerability REAL, trace_id TEXT, key_id TEXT, history TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS feedback_by_tenant ON feedback (tenant, created_at)")


class SQLiteFeedback:
    """Ratings in ``<data_dir>/service.sqlite``. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_service_db(self.path, SCHEMA)

    def add(self, feedback: Feedback) -> Feedback:
        stored = feedback.stamped()
        with self._lock:
            self._db.execute(f"INSERT INTO feedback ({COLUMNS}) VALUES ({','.join('?' * 17)})", to_row(stored))
        return stored

    def list(self, query: FeedbackQuery) -> list[Feedback]:
        clause, params = where(query, "?")
        sql = f"SELECT {COLUMNS} FROM feedback{clause} ORDER BY created_at, id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, query.limit)).fetchall()
        return [from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_feedback(settings: Settings) -> FeedbackStore:
    """The ratings table ``settings`` name: PostgreSQL's when the store is PostgreSQL, else
    ``<data_dir>/service.sqlite``."""
    if settings.uses_postgres:
        from ragwright.service.postgres_feedback import PostgresFeedback

        return PostgresFeedback(settings.store_dsn())
    return SQLiteFeedback(settings.data_dir / "service.sqlite")
