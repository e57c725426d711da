"""Spend reports over the usage ledger in PostgreSQL: :func:`ragwright.gateway.usage.summarize` for the ``usage``
table that :class:`~ragwright.service.postgres_ledger.PostgresLedgerTable` writes (same groups, same columns, same
meaning of a question: a distinct request id, or the row itself when it has none).

Example::

    rows = summarize_postgres(dsn, by="tenant", since=date(2026, 11, 1))
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from ragwright.errors import UserError
from ragwright.gateway.usage import GroupBy, UsageRow, usage_row
from ragwright.redact import quote_id
from ragwright.service.postgres_db import connect_error, server_label

__all__ = ["summarize_postgres"]

_GROUP_SQL: dict[str, str] = {
    "tenant": "tenant",
    "key": "COALESCE(key_id, '-')",
    "model": "COALESCE(model, model_requested)",
    "kb": "COALESCE(kb, '-')",
    "prompt": "COALESCE(prompt_name || '@' || prompt_version, '-')",
    "day": "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


def summarize_postgres(
    dsn: str, *, by: GroupBy = "model", since: date | None = None, tenant: str | None = None
) -> list[UsageRow]:
    """One row per group, most expensive first; ``tenant`` keeps that tenant's calls only; a database with no ledger
    yet gives no rows."""
    if by not in _GROUP_SQL:
        raise UserError(f"--by must be one of {', '.join(_GROUP_SQL)}, not {quote_id(by)}")
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp() if since else 0.0
    where = "ts >= %s" if tenant is None else "ts >= %s AND tenant = %s"
    params: tuple[object, ...] = (start,) if tenant is None else (start, tenant)
    sql = f"""
        SELECT {_GROUP_SQL[by]} AS g, COUNT(*), COUNT(DISTINCT COALESCE(request_id, 'row:' || ctid::text)),
               SUM((status <> 'ok')::int), SUM(cached), SUM(input_tokens), SUM(cached_input_tokens),
               SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), COALESCE(SUM(cost_usd), 0),
               SUM(saved_usd), SUM((cost_usd IS NULL AND status = 'ok' AND cached = 0)::int)
        FROM usage WHERE {where} GROUP BY g ORDER BY 11 DESC, 2 DESC, g"""
    label = server_label(dsn)
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            if conn.execute("SELECT to_regclass('usage')").fetchone()[0] is None:  # type: ignore[index]
                return []
            rows = conn.execute(sql, params).fetchall()
    except psycopg.Error as exc:
        raise connect_error(exc, label) from None
    return [usage_row(r) for r in rows]
