"""The usage ledger in PostgreSQL: the :class:`~ragwright.gateway.ledger.LedgerTable` used when the store is PostgreSQL.

The request path is unchanged (an in-memory append; :class:`~ragwright.gateway.ledger.UsageLedger`'s writer thread
writes batches), only the batches go to PostgreSQL's ``usage`` table: same columns as the SQLite ledger, with its
booleans as integers, so ``ragwright migrate`` copies rows as they are and reports compare like for like. The
connection is opened on the first write, from the writer thread, and reopened after a failure.

Example::

    ledger = UsageLedger(PostgresLedgerTable(dsn))
    ledger.record(UsageRecord(tenant="acme", model_requested="rag", model="fake:m"))
"""

from __future__ import annotations

from typing import Any

import psycopg

from ragwright.errors import StoreError
from ragwright.gateway.ledger import COLUMNS
from ragwright.service.postgres_db import connect_error, server_label
from ragwright.sqlite_migrations import Schema
from ragwright.store.postgres_schema import migrate_postgres

__all__ = ["PG_LEDGER", "PostgresLedgerTable"]

PG_LEDGER = Schema("pg_ledger")
"""The usage table's migrations in PostgreSQL, recorded as ``pg_ledger.<name>``."""

_INSERT = f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"


@PG_LEDGER.migration
def m001_usage(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE usage (
            ts DOUBLE PRECISION NOT NULL, tenant TEXT NOT NULL, key_id TEXT, model_requested TEXT NOT NULL,
            model TEXT, provider TEXT, input_tokens BIGINT NOT NULL, cached_input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION,
            saved_usd DOUBLE PRECISION NOT NULL, cached INTEGER NOT NULL, latency_ms DOUBLE PRECISION NOT NULL,
            status TEXT NOT NULL, error_type TEXT, fallback TEXT NOT NULL, stream INTEGER NOT NULL,
            cache_write_tokens BIGINT NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("CREATE INDEX usage_ts ON usage (ts)")


@PG_LEDGER.migration
def m002_kb_prompt_request(conn: Any) -> None:
    """Usage by knowledge base and prompt version, and per question (the SQLite ledger's ``m003``)."""
    for name in ("kb", "prompt_name", "prompt_version", "request_id"):
        conn.execute(f"ALTER TABLE usage ADD COLUMN {name} TEXT")


def _value(v: object) -> object:
    return int(v) if isinstance(v, bool) else v  # the SQLite ledger's integer booleans


class PostgresLedgerTable:
    """Ledger rows into PostgreSQL's ``usage`` table, one transaction per batch."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.where = server_label(dsn)
        self._conn: Any = None

    def write(self, rows: list[tuple[object, ...]]) -> None:
        try:
            if self._conn is None:
                conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
                try:
                    migrate_postgres(conn, PG_LEDGER, where=self.where)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.executemany(_INSERT, [tuple(_value(v) for v in row) for row in rows])
        except psycopg.Error as exc:
            self.close()
            raise connect_error(exc, self.where) from None
        except StoreError:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
