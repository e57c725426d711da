"""A per-key moving-window rate limit kept in a SQLite file, so that the server processes of one machine
(``ragwright serve --workers N``) share one window per key without Redis.

It is the same exact moving window as :class:`ragwright.service.ratelimit.MemoryWindow`: a log of the hit
timestamps of each key within the last ``seconds``. Each hit is one short ``BEGIN IMMEDIATE`` transaction (delete the
key's expired hits, count the rest, insert the new hit if there is room), so two processes cannot both take the last
slot. The file is in WAL mode with ``synchronous=NORMAL`` (a commit does not wait for fsync; the log may lose its last
hits on a power cut, which only forgives a few requests) and a busy timeout for the moments another process holds
the write lock.

Example::

    window = SqliteWindow(Path(".ragwright/ratelimit.sqlite"), amount=2, seconds=60)
    window.hit("k"), window.hit("k"), window.hit("k")   # True, True, False
    window.reset_time("k")                              # when the oldest hit leaves the window
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ragwright.errors import ConfigError
from ragwright.private_files import private_file
from ragwright.sqlite_migrations import Schema, execute_script, migrate

SCHEMA = Schema("ratelimit")


@SCHEMA.migration
def m001_rate_hits(db: sqlite3.Connection) -> None:
    execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS rate_hits (key TEXT NOT NULL, at REAL NOT NULL);
        CREATE INDEX IF NOT EXISTS rate_hits_key_at ON rate_hits (key, at);
        CREATE TABLE IF NOT EXISTS rate_counts (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
        """,
    )


SQLITE_SCHEME = "sqlite://"
DEFAULT_FILE = "ratelimit.sqlite"


class RateLimitStorageError(ConfigError):
    """The rate-limit storage URI cannot be used (e.g. ``sqlite://`` without a data directory)."""


def sqlite_path(uri: str, data_dir: Path | None) -> Path:
    """The file a ``sqlite://`` URI names: ``sqlite://`` alone is ``<data_dir>/ratelimit.sqlite``,
    ``sqlite:///abs/path.sqlite`` that path."""
    rest = uri.removeprefix(SQLITE_SCHEME)
    if rest:
        return Path(rest)
    if data_dir is None:
        raise RateLimitStorageError(
            "rate_limit_storage 'sqlite://' needs a data directory (or give a path: sqlite:///path/to/ratelimit.sqlite)"
        )
    return data_dir / DEFAULT_FILE


class SqliteWindow:
    """Hits per key over a moving window, in a SQLite file shared by the processes that open it."""

    def __init__(
        self,
        path: Path,
        amount: int,
        seconds: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.amount = amount
        self.seconds = seconds
        self.path = path
        self._clock = clock
        private_file(path)
        # Autocommit mode (isolation_level=None): the transactions below are explicit.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        migrate(self._db, SCHEMA, where=path)
        # Counts are derived data: rebuild them from the log on open (a file from a version without them, or a crash
        # between processes, can never leave a key with more hits than the log holds).
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM rate_counts")
        self._db.execute("INSERT INTO rate_counts SELECT key, count(*) FROM rate_hits GROUP BY key")
        self._db.execute("COMMIT")
        self._lock = threading.Lock()
        self._next_sweep = clock() + seconds

    def hit(self, key: str) -> bool:
        """Record a hit unless ``amount`` hits already fall within the window; True when recorded."""
        now = self._clock()
        cutoff = now - self.seconds
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                # rate_counts keeps each key's number of hits in the window, so a check costs the same at 600 rpm
                # as at 100,000 (counting the log cost ~0.5 ms per request at 280 req/s on one key).
                if now >= self._next_sweep:  # other keys' old hits, once per window
                    db.execute("DELETE FROM rate_hits WHERE at < ?", (cutoff,))
                    db.execute("DELETE FROM rate_counts")
                    db.execute("INSERT INTO rate_counts SELECT key, count(*) FROM rate_hits GROUP BY key")
                    self._next_sweep = now + self.seconds
                    removed = 0
                else:
                    removed = db.execute("DELETE FROM rate_hits WHERE key = ? AND at < ?", (key, cutoff)).rowcount
                row = db.execute("SELECT n FROM rate_counts WHERE key = ?", (key,)).fetchone()
                count = (int(row[0]) if row else 0) - removed
                allowed = bool(count < self.amount)
                if allowed:
                    db.execute("INSERT INTO rate_hits (key, at) VALUES (?, ?)", (key, now))
                    count += 1
                if allowed or removed:
                    db.execute(
                        "INSERT INTO rate_counts (key, n) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET n = excluded.n",
                        (key, count),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return allowed

    def reset_time(self, key: str) -> float:
        """When the oldest hit in the window expires (now, when there is none)."""
        now = self._clock()
        with self._lock:
            (oldest,) = self._db.execute(
                "SELECT min(at) FROM rate_hits WHERE key = ? AND at >= ?", (key, now - self.seconds)
            ).fetchone()
        return float(oldest) + self.seconds if oldest is not None else now

    def close(self) -> None:
        with self._lock:
            self._db.close()
