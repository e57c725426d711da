"""The small SQLite files the service keeps beside the index (keys, knowledge bases, jobs), opened one way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ragwright.private_files import private_file


def open_service_db(path: Path, schema: str) -> sqlite3.Connection:
    """A connection shared between threads (callers hold their own lock), autocommit, WAL so that readers in other
    server processes never block on a writer, waiting up to 10 s for a lock; ``schema`` is run once (idempotent DDL)."""
    private_file(path)  # 0600 in a 0700 directory when ragwright creates them (key hashes, jobs)
    db = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(schema)
    return db
