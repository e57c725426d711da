"""Operations · Usage and cost (``/ops/usage``, admin keys): spend of the key's tenant by day, model, key, knowledge
base and prompt version, from the usage ledger, as charts with the same numbers in tables.

The numbers are :func:`ragwright.gateway.usage.summarize_ledger`'s, the report ``GET /v1/usage`` and ``ragwright
usage`` give, for the session key's tenant only. Charts show cost; when every call of the window was free (local or
fake models) they show calls instead, and say so. Questions answered without a model (extractive answers,
abstentions) make no ledger row, so they are not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from ragwright.gateway.usage import GroupBy, UsageRow, summarize_ledger
from ragwright.interfaces.http.auth import get_state
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_charts import Fmt, bar_chart, column_chart
from ragwright.ui.ops_common import blocking, ops_render

router = APIRouter()

DIMENSIONS: tuple[tuple[GroupBy, str], ...] = (
    ("model", "model"),
    ("key", "API key"),
    ("kb", "knowledge base"),
    ("prompt", "prompt version"),
)
NONE = {"kb": "(none)", "prompt": "(none)", "key": "(none)"}
"""What a group of calls without that attribute (``-`` in the report: agent and proxy calls have no knowledge base,
CLI calls no key) is called on the page."""
Metric = Literal["cost", "calls"]


@dataclass(frozen=True)
class Breakdown:
    """One dimension of the report: its rows (most expensive first) and its chart."""

    by: str
    label: str
    rows: list[UsageRow]
    chart: Markup
    names: dict[str, str] = field(default_factory=dict)
    """Display names of groups (key ids to key names)."""


def _value(row: UsageRow, metric: Metric) -> float:
    return row.cost_usd if metric == "cost" else float(row.calls)


def _fmt(metric: Metric) -> Fmt:
    return (lambda v: f"${v:,.4f}") if metric == "cost" else (lambda v: f"{v:,.0f} calls")


def _days(since: date, today: date, rows: list[UsageRow]) -> list[UsageRow]:
    """One row per day from ``since`` to ``today`` (days without calls as zero rows), oldest first."""
    by_day = {r.group: r for r in rows}
    out = []
    for i in range((today - since).days + 1):
        day = (since + timedelta(days=i)).isoformat()
        out.append(by_day.get(day) or UsageRow(day, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0))
    return out


@router.get("/ops/usage")
async def usage_page(
    request: Request,
    user: UiUser = Depends(ui_admin),
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    state = get_state(request)
    settings = state.settings
    today = datetime.now(UTC).date()
    since = today - timedelta(days=days - 1)
    tenant = user.key.tenant

    def read() -> dict[str, list[UsageRow]]:
        groups: tuple[GroupBy, ...] = ("day", "model", "key", "kb", "prompt")
        return {by: summarize_ledger(settings, by=by, since=since, tenant=tenant) for by in groups}

    report = await blocking(request, read)
    totals = report["model"]
    cost = sum(r.cost_usd for r in totals)
    calls = sum(r.calls for r in totals)
    metric: Metric = "cost" if cost > 0 or calls == 0 else "calls"
    fmt = _fmt(metric)
    daily = _days(since, today, report["day"])
    day_chart = column_chart(
        [(r.group, _value(r, metric)) for r in daily],
        title=f"{'Cost (USD)' if metric == 'cost' else 'Model calls'} per day, last {days} days",
        fmt=fmt,
        chart_id="chart-day",
    )
    key_names = {k.key_id: k.name for k in await blocking(request, lambda: state.keys.list(tenant)) if k.name}
    breakdowns = []
    for by, label in DIMENSIONS:
        names = {"-": NONE[by], **(key_names if by == "key" else {})} if by in NONE else {}
        breakdowns.append(
            Breakdown(
                by,
                label,
                report[by],
                bar_chart(
                    [(names.get(r.group, r.group), _value(r, metric)) for r in report[by]],
                    title=f"{'Cost (USD)' if metric == 'cost' else 'Model calls'} by {label}",
                    fmt=fmt,
                    chart_id=f"chart-{by}",
                ),
                names,
            )
        )
    return ops_render(
        request,
        "ops/usage.html",
        user,
        sub="usage",
        title="Usage and cost",
        days=days,
        since=since,
        metric=metric,
        cost=cost,
        calls=calls,
        questions=sum(r.questions for r in daily),
        errors=sum(r.errors for r in totals),
        unpriced=sum(r.unpriced_calls for r in totals),
        daily=[r for r in daily if r.calls],
        day_chart=day_chart,
        breakdowns=breakdowns,
        ledger_on=settings.gateway.ledger,
    )
