"""The small SQLite files the service keeps beside the index (keys, knowledge bases, jobs), opened one way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ragwright.private_files import private_file
from ragwright.sqlite_migrations import Schema, migrate


def open_service_db(path: Path, schema: Schema) -> sqlite3.Connection:
    """A connection shared between threads (callers hold their own lock), autocommit, WAL so that readers in other
    server processes never block on a writer, waiting up to 10 s for a lock; ``schema``'s pending migrations are
    applied (:mod:`ragwright.sqlite_migrations`)."""
    private_file(path)  # 0600 in a 0700 directory when ragwright creates them (key hashes, jobs)
    db = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        migrate(db, schema, where=path)
    except BaseException:
        db.close()
        raise
    return db
