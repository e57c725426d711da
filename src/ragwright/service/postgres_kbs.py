"""Knowledge bases in PostgreSQL: the :class:`~ragwright.service.kbs.KnowledgeBaseRegistry` used when the store is
PostgreSQL (same columns as the SQLite table, so ``ragwright migrate`` copies its rows as they are).

Example::

    kbs = PostgresKnowledgeBases(dsn)
    kbs.add("acme", "handbook")
    kbs.list("acme")   # ["default", "handbook"]
"""

from __future__ import annotations

import time
from typing import Any

from ragwright.service.kbs import check_kb_name, with_default
from ragwright.service.postgres_db import PostgresDatabase
from ragwright.sqlite_migrations import Schema

__all__ = ["PG_KBS", "PostgresKnowledgeBases"]

PG_KBS = Schema("pg_kbs")
"""The knowledge-base table's migrations in PostgreSQL, recorded as ``pg_kbs.<name>``."""


@PG_KBS.migration
def m001_knowledge_bases(conn: Any) -> None:
    conn.execute(
        'CREATE TABLE knowledge_bases (tenant TEXT NOT NULL, kb TEXT COLLATE "C" NOT NULL,'
        " created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, kb))"
    )


class PostgresKnowledgeBases:
    """Which knowledge bases each tenant has created, in PostgreSQL. Safe to share between threads."""

    def __init__(self, dsn: str) -> None:
        self._db = PostgresDatabase(dsn, PG_KBS, name="kbs", pool_max=2)
        self.where = self._db.where

    def add(self, tenant: str, kb: str) -> None:
        check_kb_name(kb)
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO knowledge_bases (tenant, kb, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (tenant, kb, time.time()),
            )

    def list(self, tenant: str) -> list[str]:
        """The tenant's knowledge bases, ``default`` first (it always exists)."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT kb FROM knowledge_bases WHERE tenant = %s ORDER BY kb", (tenant,)).fetchall()
        return with_default([r[0] for r in rows])

    def close(self) -> None:
        self._db.close()
