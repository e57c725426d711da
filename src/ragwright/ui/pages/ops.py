"""Operations · Overview (``/ops``, admin keys): the figures an operator looks at first, each linking to its page.

Active keys, the last seven days' model spend and calls, runs waiting for a human, and whether tracing and the usage
ledger are on (a view whose data is not being recorded says what to set, rather than showing an empty chart).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ragwright.agents.records import RunStatus
from ragwright.gateway.usage import summarize_ledger
from ragwright.interfaces.http.agent_runs import visible_runs
from ragwright.interfaces.http.auth import get_state
from ragwright.service.key_admin import manageable_keys
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_common import blocking, ops_render

router = APIRouter()


@router.get("/ops")
async def overview(request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    state = get_state(request)
    settings = state.settings
    since = datetime.now(UTC).date() - timedelta(days=6)

    def read() -> dict[str, Any]:
        keys = manageable_keys(state.keys, user.key)
        spend = summarize_ledger(settings, by="tenant", since=since, tenant=user.key.tenant)
        paused = visible_runs(state, user.key, status=RunStatus.AWAITING_APPROVAL, limit=100)
        return {
            "active_keys": sum(not k.revoked for k in keys),
            "cost": sum(r.cost_usd for r in spend),
            "calls": sum(r.calls for r in spend),
            "paused": len(paused),
        }

    figures = await blocking(request, read)
    return ops_render(
        request,
        "ops/overview.html",
        user,
        sub="overview",
        title="Operations",
        tracing=settings.observability.tracing,
        ledger_on=settings.gateway.ledger,
        **figures,
    )
