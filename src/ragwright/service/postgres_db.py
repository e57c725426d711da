"""The service's state tables in PostgreSQL (keys, knowledge bases, jobs, the usage ledger), opened one way.

The PostgreSQL counterpart of :func:`ragwright.service.sqlite_file.open_service_db`: :class:`PostgresDatabase` applies
a component's pending migrations (its own :class:`~ragwright.sqlite_migrations.Schema`, through
:func:`~ragwright.store.postgres_schema.migrate_postgres`, the one mechanism) and then serves pooled autocommit
connections. Failures become typed errors that name the server and database, never the password:
:class:`~ragwright.errors.StoreUnavailable` when the server cannot be reached, :class:`~ragwright.errors.StoreError`
otherwise.

Example::

    db = PostgresDatabase(dsn, KEYS_PG, name="keys")
    with db.connection() as conn:
        conn.execute("SELECT count(*) FROM api_keys").fetchone()
    db.close()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ragwright.errors import StoreError, StoreUnavailable
from ragwright.redact import redact, remember_secret
from ragwright.sqlite_migrations import Schema
from ragwright.store.postgres_schema import migrate_postgres

__all__ = ["PostgresDatabase", "connect_error", "server_label"]


def server_label(dsn: str) -> str:
    """``postgresql://host:port/db`` for messages: the server and database, never the user's password.

    A DSN that does not parse is labelled as such (its text may hold a password)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "postgresql://(unparsable DSN)"
    remember_secret(str(info.get("password") or "") or None)
    return f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def connect_error(exc: BaseException, where: str) -> StoreError:
    """The typed error for a failed connection or query: :class:`StoreUnavailable` when the server cannot be reached
    (or refuses us), :class:`StoreError` otherwise; the message is redacted."""
    if isinstance(exc, psycopg.OperationalError | PoolTimeout):
        return StoreUnavailable(redact(f"cannot reach PostgreSQL at {where}: {_first_line(exc)}"))
    return StoreError(redact(f"PostgreSQL at {where} failed: {_first_line(exc)}"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresDatabase:
    """A small connection pool over one PostgreSQL database whose ``schema`` migrations were applied on open."""

    def __init__(
        self,
        dsn: str,
        schema: Schema,
        *,
        name: str,
        pool_max: int = 4,
        timeout_s: float = 10.0,
    ) -> None:
        self.where = server_label(dsn)
        """The server and database, for messages (never the password)."""
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(timeout_s))) as conn:
                migrate_postgres(conn, schema, where=self.where)
            self._pool = ConnectionPool(
                dsn,
                min_size=1,
                max_size=pool_max,
                kwargs={"autocommit": True},
                timeout=timeout_s,
                open=True,
                name=f"ragwright-{name}",
            )
        except psycopg.Error as exc:
            raise connect_error(exc, self.where) from None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled autocommit connection; a psycopg failure inside becomes a typed, redacted error."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise connect_error(exc, self.where) from None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A pooled connection inside one transaction: everything in the block commits together or not at all."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        self._pool.close()
