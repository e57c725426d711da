"""Spend reports over the usage ledger in PostgreSQL: :func:`ragwright.gateway.usage.summarize` for the ``usage``
table that :class:`~ragwright.service.postgres_ledger.PostgresLedgerSink` writes (same groups, same columns).

Example::

    rows = summarize_postgres(dsn, by="tenant", since=date(2026, 11, 1))
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from ragwright.errors import UserError
from ragwright.gateway.usage import GroupBy, UsageRow, usage_row
from ragwright.service.postgres_db import connect_error, server_label

__all__ = ["summarize_postgres"]

_GROUP_SQL: dict[str, str] = {
    "tenant": "tenant",
    "key": "COALESCE(key_id, '-')",
    "model": "COALESCE(model, model_requested)",
    "day": "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


def summarize_postgres(dsn: str, *, by: GroupBy = "model", since: date | None = None) -> list[UsageRow]:
    """One row per group, most expensive first; a database with no ledger yet gives no rows."""
    if by not in _GROUP_SQL:
        raise UserError(f"--by must be one of {', '.join(_GROUP_SQL)}, not {by!r}")
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp() if since else 0.0
    where = server_label(dsn)
    sql = f"""
        SELECT {_GROUP_SQL[by]} AS g, COUNT(*), SUM((status <> 'ok')::int), SUM(cached),
               SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens),
               SUM(reasoning_tokens), COALESCE(SUM(cost_usd), 0), SUM(saved_usd),
               SUM((cost_usd IS NULL AND status = 'ok' AND cached = 0)::int)
        FROM usage WHERE ts >= %s GROUP BY g ORDER BY 10 DESC, 2 DESC, g"""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            if conn.execute("SELECT to_regclass('usage')").fetchone()[0] is None:  # type: ignore[index]
                return []
            rows = conn.execute(sql, (start,)).fetchall()
    except psycopg.Error as exc:
        raise connect_error(exc, where) from None
    return [usage_row(r) for r in rows]
