"""Web UI sessions ended by logging out, remembered until they would have expired, where every server process sees them.

A session cookie is valid until its signature's timestamp runs out (:mod:`ragwright.ui.session`). Deleting it from
the browser at logout does not stop a copy taken earlier, so logging out also records the session's id here, with
the time its cookie expires; every UI request checks its session id against this list before anything else, and a
listed one is sent to the login page. Where the list lives is where the deployment already shares its state:

- with a ``[redis] url`` (replicas): a key ``<prefix>:ui:ended:<sid>`` that Redis itself expires (``SET ... EXAT``),
  read with one ``EXISTS`` per request; Redis unreachable is :class:`~ragwright.errors.SharedStateUnavailable` (503),
  as for key revocation: a replica that cannot check does not serve;
- otherwise the table ``ui_ended_sessions`` in ``<data_dir>/service.sqlite`` (every ``serve --workers N`` process of
  the host reads it), or in PostgreSQL when the store is PostgreSQL. Rows past their expiry are deleted at the next
  logout.

Example::

    ended = open_ended_sessions(settings, redis=None)
    await ended.end("a-session-id", until=time.time() + 8 * 3600)
    await ended.is_ended("a-session-id")          # True until then
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

if TYPE_CHECKING:
    from ragwright.config import Settings
    from ragwright.sharedstate.client import SharedRedis

__all__ = ["PG_ENDED_SESSIONS", "EndedSessions", "RedisEndedSessions", "SQLiteEndedSessions", "open_ended_sessions"]


class EndedSessions(Protocol):
    """Session ids ended by a logout, each until its cookie's expiry."""

    async def end(self, sid: str, until: float) -> None:
        """Record that session ``sid`` ended; remember it until ``until`` (epoch seconds)."""
        ...

    async def is_ended(self, sid: str) -> bool: ...

    def close(self) -> None: ...


SCHEMA = Schema("ui_sessions")


@SCHEMA.migration
def m001_ui_ended_sessions(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS ui_ended_sessions (sid TEXT PRIMARY KEY, until REAL NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS ui_ended_sessions_until ON ui_ended_sessions (until)")


PG_ENDED_SESSIONS = Schema("pg_ui_sessions")
"""The table's migrations in PostgreSQL, recorded as ``pg_ui_sessions.<name>``."""


@PG_ENDED_SESSIONS.migration
def pg_m001_ui_ended_sessions(conn: Any) -> None:
    conn.execute("CREATE TABLE ui_ended_sessions (sid TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL)")
    conn.execute("CREATE INDEX ui_ended_sessions_until ON ui_ended_sessions (until)")


class SQLiteEndedSessions:
    """Ended sessions in ``service.sqlite`` (one indexed lookup per UI request, ~20 µs). Safe to share between
    threads."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_service_db(Path(path), SCHEMA)

    async def end(self, sid: str, until: float) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ui_ended_sessions WHERE until < ?", (time.time(),))
            self._db.execute("INSERT OR REPLACE INTO ui_ended_sessions VALUES (?, ?)", (sid, until))

    async def is_ended(self, sid: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT until FROM ui_ended_sessions WHERE sid = ?", (sid,)).fetchone()
        return row is not None and float(row[0]) >= time.time()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresEndedSessions:
    """Ended sessions in PostgreSQL (a round trip per UI request, off the event loop)."""

    def __init__(self, dsn: str) -> None:
        from ragwright.service.postgres_db import PostgresDatabase

        self._db = PostgresDatabase(dsn, PG_ENDED_SESSIONS, name="ui sessions", pool_max=2)

    def _end(self, sid: str, until: float) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM ui_ended_sessions WHERE until < %s", (time.time(),))
            conn.execute(
                "INSERT INTO ui_ended_sessions (sid, until) VALUES (%s, %s)"
                " ON CONFLICT (sid) DO UPDATE SET until = EXCLUDED.until",
                (sid, until),
            )

    def _is_ended(self, sid: str) -> bool:
        with self._db.connection() as conn:
            row = conn.execute("SELECT until FROM ui_ended_sessions WHERE sid = %s", (sid,)).fetchone()
        return row is not None and float(row[0]) >= time.time()

    async def end(self, sid: str, until: float) -> None:
        await asyncio.to_thread(self._end, sid, until)

    async def is_ended(self, sid: str) -> bool:
        return await asyncio.to_thread(self._is_ended, sid)

    def close(self) -> None:
        self._db.close()


class RedisEndedSessions:
    """Ended sessions as expiring Redis keys, shared by every replica of the deployment."""

    def __init__(self, redis: SharedRedis) -> None:
        self.redis = redis

    async def end(self, sid: str, until: float) -> None:
        async with self.redis.guard("ending a web UI session"):
            await self.redis.client().set(self.redis.key("ui", "ended", sid), b"1", exat=max(1, math.ceil(until)))

    async def is_ended(self, sid: str) -> bool:
        async with self.redis.guard("checking a web UI session"):
            found = await self.redis.client().exists(self.redis.key("ui", "ended", sid))
        return bool(found)

    def close(self) -> None:
        pass  # the connection belongs to the service's SharedRedis


def open_ended_sessions(settings: Settings, redis: SharedRedis | None) -> EndedSessions:
    """Redis when the deployment has one, else the store's service table (see the module)."""
    if redis is not None:
        return RedisEndedSessions(redis)
    if settings.uses_postgres:
        return PostgresEndedSessions(settings.store_dsn())
    return SQLiteEndedSessions(settings.data_dir / "service.sqlite")
