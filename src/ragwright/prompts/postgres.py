"""The prompt registry in the PostgreSQL store's database: the same statements as SQLite, over a psycopg pool.

Example::

    store = PostgresPromptStore("postgresql://ragwright@db/ragwright")
    PromptRegistry(store).resolve("acme", "answer")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ragwright.errors import StoreError
from ragwright.prompts.schema import PG_PROMPTS
from ragwright.prompts.store import Exec, SQLPromptStore
from ragwright.store.postgres_schema import migrate_postgres

__all__ = ["PostgresPromptStore"]


class _PostgresBackend:
    placeholder = "%s"

    def __init__(self, dsn: str, *, max_size: int = 4, timeout_s: float = 30.0) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=int(timeout_s)) as conn:
                migrate_postgres(conn, PG_PROMPTS, where="the prompt registry")
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the prompt registry: {type(exc).__name__}") from exc
        self._pool = ConnectionPool(dsn, min_size=1, max_size=max_size, kwargs={"autocommit": True}, open=True)

    def read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return list(conn.execute(sql, tuple(params)).fetchall())
        except psycopg.Error as exc:
            raise StoreError(f"prompt registry read failed: {type(exc).__name__}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Exec]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("LOCK TABLE prompt_versions IN SHARE ROW EXCLUSIVE MODE")  # one writer numbers versions

                def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
                    cur = conn.execute(sql, tuple(params))
                    return list(cur.fetchall()) if cur.description is not None else []

                yield run
        except psycopg.Error as exc:
            raise StoreError(f"prompt registry write failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._pool.close()


class PostgresPromptStore(SQLPromptStore):
    """:class:`~ragwright.prompts.store.PromptStore` in PostgreSQL (tables from :data:`PG_PROMPTS`)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(_PostgresBackend(dsn))
