"""Spend reports over the usage ledger: calls, tokens, cost, savings and errors grouped by tenant, key, model or day.

Example::

    rows = summarize(settings.ledger_path, by="model", since=date(2026, 11, 1))
    rows[0].group, rows[0].calls, rows[0].cost_usd
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ragwright.errors import StoreError, UserError
from ragwright.gateway.ledger import open_readonly

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = ["GroupBy", "UsageRow", "ledger_label", "summarize", "summarize_ledger", "usage_row"]

GroupBy = Literal["tenant", "key", "model", "day"]

_GROUP_SQL: dict[str, str] = {
    "tenant": "tenant",
    "key": "COALESCE(key_id, '-')",
    "model": "COALESCE(model, model_requested)",
    "day": "date(ts, 'unixepoch')",
}


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group of `ragwright usage`: calls, errors, cache hits, tokens, cost and savings."""

    group: str
    calls: int
    errors: int
    cache_hits: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_usd: float
    saved_usd: float
    unpriced_calls: int
    """Successful calls whose model has no price (their cost is unknown, not zero)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(path: Path, *, by: GroupBy = "model", since: date | None = None) -> list[UsageRow]:
    """One row per group, most expensive first; an absent ledger gives no rows."""
    if by not in _GROUP_SQL:
        raise UserError(f"--by must be one of {', '.join(_GROUP_SQL)}, not {by!r}")
    if not path.exists():
        return []
    key = _GROUP_SQL[by]
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp() if since else 0.0
    try:
        conn = open_readonly(path)
        try:
            # a ledger last written by an older version has no cache_write_tokens column (read-only: not added here)
            have = {row[1] for row in conn.execute("PRAGMA table_info(usage)")}
            writes = "SUM(cache_write_tokens)" if "cache_write_tokens" in have else "0"
            sql = f"""
                SELECT {key} AS g, COUNT(*), SUM(status != 'ok'), SUM(cached),
                       SUM(input_tokens), SUM(cached_input_tokens), {writes}, SUM(output_tokens),
                       SUM(reasoning_tokens), COALESCE(SUM(cost_usd), 0), SUM(saved_usd),
                       SUM(cost_usd IS NULL AND status = 'ok' AND cached = 0)
                FROM usage WHERE ts >= ? GROUP BY g ORDER BY 10 DESC, 2 DESC, g"""
            rows = conn.execute(sql, (start,)).fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise StoreError(f"cannot read usage ledger {path}: {exc}") from None
    return [usage_row(r) for r in rows]


def usage_row(r: Any) -> UsageRow:
    """A report row from the query's columns (group, calls, errors, hits, tokens x5, cost, saved, unpriced)."""
    return UsageRow(
        str(r[0]),
        int(r[1]),
        int(r[2] or 0),
        int(r[3] or 0),
        int(r[4] or 0),
        int(r[5] or 0),
        int(r[6] or 0),
        int(r[7] or 0),
        int(r[8] or 0),
        float(r[9] or 0.0),
        float(r[10] or 0.0),
        int(r[11] or 0),
    )


def summarize_ledger(settings: Settings, *, by: GroupBy = "model", since: date | None = None) -> list[UsageRow]:
    """:func:`summarize` over the ledger ``settings`` name: PostgreSQL's ``usage`` table with a PostgreSQL store."""
    if settings.uses_postgres:
        from ragwright.service.postgres_usage import summarize_postgres

        return summarize_postgres(settings.store_dsn(), by=by, since=since)
    return summarize(settings.ledger_path, by=by, since=since)


def ledger_label(settings: Settings) -> str:
    """Where the ledger is, for messages (the server and database, never a password)."""
    if settings.uses_postgres:
        from ragwright.service.postgres_db import server_label

        return server_label(settings.store_dsn())
    return str(settings.ledger_path)
