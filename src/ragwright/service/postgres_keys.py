"""API key rows in PostgreSQL: the :class:`~ragwright.service.keys.KeyTable` used when the store is PostgreSQL.

Same columns as the SQLite ``api_keys`` table (scopes and tags as JSON text), so ``ragwright migrate`` copies rows as
they are and one :class:`~ragwright.service.keys.KeyStore` holds the logic (hashing, constant-time comparison, the
verified-key cache) for both backends. Only ``sha256(raw key)`` is stored, as in SQLite.

Example::

    keys = KeyStore(PostgresKeyTable(dsn), cache_seconds=1.0)
    raw, key = keys.create("acme", scopes=("read",))
"""

from __future__ import annotations

from typing import Any

from ragwright.service.keys import KeyRow
from ragwright.service.postgres_db import PostgresDatabase
from ragwright.sqlite_migrations import Schema

__all__ = ["PG_KEYS", "PostgresKeyTable"]

PG_KEYS = Schema("pg_keys")
"""The key table's migrations in PostgreSQL, recorded as ``pg_keys.<name>``."""

_COLUMNS = "key_id, key_hash, tenant, scopes, tags, name, created_at, revoked_at"


@PG_KEYS.migration
def m001_api_keys(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL,
            tenant TEXT NOT NULL,
            scopes TEXT NOT NULL,
            tags TEXT NOT NULL,
            name TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        )"""
    )
    conn.execute("CREATE INDEX api_keys_tenant ON api_keys (tenant)")


class PostgresKeyTable:
    """API key rows in PostgreSQL's ``api_keys`` table. Safe to share between threads (a connection pool)."""

    def __init__(self, dsn: str) -> None:
        self._db = PostgresDatabase(dsn, PG_KEYS, name="keys")
        self.where = self._db.where

    def insert(self, row: KeyRow) -> None:
        with self._db.connection() as conn:
            conn.execute(f"INSERT INTO api_keys ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row)

    def find(self, key_id: str) -> KeyRow | None:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = %s", (key_id,)).fetchone()
        return None if row is None else tuple(row)

    def rows(self, tenant: str | None) -> list[KeyRow]:
        with self._db.connection() as conn:
            if tenant is None:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM api_keys WHERE tenant = %s ORDER BY created_at, key_id", (tenant,)
                ).fetchall()
        return [tuple(r) for r in rows]

    def revoke(self, key_id: str, at: float) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s AND revoked_at IS NULL", (at, key_id)
            )
        return bool(cur.rowcount > 0)

    def close(self) -> None:
        self._db.close()
