"""Spend reports over the usage ledger: calls, questions, tokens, cost, savings and errors grouped by tenant, key,
model, knowledge base, prompt version or day.

A *question* is one front-door request (``X-Request-Id``): an answer may make several model calls (a follow-up
rewrite, the answer, a judge per sentence) that share its request id, so ``questions`` counts distinct request ids
(a row without one, e.g. from a ledger written before they were recorded, counts as its own question).
``cost_per_1k_questions`` is the cost of the group's questions per 1,000 of them. Questions that reached no model
(extractive answers, abstentions before generation) make no row and are not counted: the figure is the cost of
questions that used a model.

Example::

    rows = summarize(settings.ledger_path, by="kb", since=date(2026, 11, 1), tenant="acme")
    rows[0].group, rows[0].questions, rows[0].cost_per_1k_questions
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from ragwright.errors import StoreError, UserError
from ragwright.gateway.ledger import open_readonly

if TYPE_CHECKING:
    from ragwright.config import Settings

__all__ = ["GROUPS", "GroupBy", "UsageRow", "ledger_label", "summarize", "summarize_ledger", "usage_row"]

GroupBy = Literal["tenant", "key", "model", "kb", "prompt", "day"]
GROUPS: tuple[str, ...] = get_args(GroupBy)

_GROUP_SQL: dict[str, str] = {
    "tenant": "tenant",
    "key": "COALESCE(key_id, '-')",
    "model": "COALESCE(model, model_requested)",
    "kb": "COALESCE(kb, '-')",
    "prompt": "COALESCE(prompt_name || '@' || prompt_version, '-')",
    "day": "date(ts, 'unixepoch')",
}
_OPTIONAL = {"cache_write_tokens": "0", "kb": "NULL", "prompt_name": "NULL", "prompt_version": "NULL"}
"""Columns a ledger last written by an older version lacks (read-only: not added here), and what stands in."""


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group of `ragwright usage`: calls, questions, errors, cache hits, tokens, cost and savings."""

    group: str
    calls: int
    questions: int
    """Distinct front-door requests (see the module)."""
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

    @property
    def cost_per_1k_questions(self) -> float:
        return 1000.0 * self.cost_usd / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cost_per_1k_questions": self.cost_per_1k_questions}


def summarize(
    path: Path, *, by: GroupBy = "model", since: date | None = None, tenant: str | None = None
) -> list[UsageRow]:
    """One row per group, most expensive first; ``tenant`` keeps that tenant's calls only; an absent ledger gives
    no rows."""
    if by not in _GROUP_SQL:
        raise UserError(f"--by must be one of {', '.join(_GROUP_SQL)}, not {by!r}")
    if not path.exists():
        return []
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC).timestamp() if since else 0.0
    try:
        conn = open_readonly(path)
        try:
            rows = conn.execute(*_query(conn, by, start, tenant)).fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise StoreError(f"cannot read usage ledger {path}: {exc}") from None
    return [usage_row(r) for r in rows]


def usage_row(r: tuple[Any, ...]) -> UsageRow:
    """A report row from the query's columns (group, calls, questions, errors, hits, tokens x5, cost, saved,
    unpriced); the PostgreSQL report (:mod:`ragwright.service.postgres_usage`) returns the same columns."""
    calls, questions, errors, hits, tokens_in, cached_in, writes, tokens_out, reasoning = (int(v or 0) for v in r[1:10])
    return UsageRow(
        str(r[0]), calls, questions, errors, hits, tokens_in, cached_in, writes, tokens_out, reasoning,
        float(r[10] or 0.0), float(r[11] or 0.0), int(r[12] or 0),
    )  # fmt: skip


def _query(conn: sqlite3.Connection, by: str, start: float, tenant: str | None) -> tuple[str, tuple[object, ...]]:
    have = {row[1] for row in conn.execute("PRAGMA table_info(usage)")}
    key = _GROUP_SQL[by]
    for column, stand_in in _OPTIONAL.items():
        if column not in have:
            key = key.replace(column, stand_in)
    writes = "SUM(cache_write_tokens)" if "cache_write_tokens" in have else "0"
    question = "COALESCE(request_id, 'row:' || rowid)" if "request_id" in have else "'row:' || rowid"
    where = "ts >= ?" if tenant is None else "ts >= ? AND tenant = ?"
    params: tuple[object, ...] = (start,) if tenant is None else (start, tenant)
    sql = f"""
        SELECT {key} AS g, COUNT(*), COUNT(DISTINCT {question}), SUM(status != 'ok'), SUM(cached),
               SUM(input_tokens), SUM(cached_input_tokens), {writes}, SUM(output_tokens),
               SUM(reasoning_tokens), COALESCE(SUM(cost_usd), 0), SUM(saved_usd),
               SUM(cost_usd IS NULL AND status = 'ok' AND cached = 0)
        FROM usage WHERE {where} GROUP BY g ORDER BY 11 DESC, 2 DESC, g"""
    return sql, params


def summarize_ledger(
    settings: Settings, *, by: GroupBy = "model", since: date | None = None, tenant: str | None = None
) -> list[UsageRow]:
    """:func:`summarize` over the ledger ``settings`` name: PostgreSQL's ``usage`` table with a PostgreSQL store."""
    if settings.uses_postgres:
        from ragwright.service.postgres_usage import summarize_postgres

        return summarize_postgres(settings.store_dsn(), by=by, since=since, tenant=tenant)
    return summarize(settings.ledger_path, by=by, since=since, tenant=tenant)


def ledger_label(settings: Settings) -> str:
    """Where the ledger is, for messages (the server and database, never a password)."""
    if settings.uses_postgres:
        from ragwright.service.postgres_db import server_label

        return server_label(settings.store_dsn())
    return str(settings.ledger_path)
