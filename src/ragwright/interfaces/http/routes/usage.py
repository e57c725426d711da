"""``GET /v1/usage``: model spend from the usage ledger as JSON, for admin keys, scoped to the key's tenant.

The same report as ``ragwright usage --json`` (calls, questions, tokens, cost, cost per 1,000 questions, savings and
errors by tenant, key, model, knowledge base, prompt version or day), but an admin key of one tenant sees its own
tenant's calls only: the operator's view across tenants is the CLI, on the machine that holds the ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ragwright.gateway.usage import GROUPS, GroupBy, summarize_ledger
from ragwright.interfaces.http.auth import Principal, get_state, require
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS

router = APIRouter(tags=["operations"])
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/v1/usage", responses=ERRORS)
async def usage(
    request: Request,
    principal: Admin,
    by: Annotated[str, Query(description=f"Group by: {', '.join(GROUPS)}.")] = "model",
    since: Annotated[date | None, Query(description="Only calls on or after this UTC date (YYYY-MM-DD).")] = None,
) -> dict[str, Any]:
    """Spend of this key's tenant from the usage ledger (admin keys)."""
    if by not in GROUPS:
        raise ApiError(400, "bad_request", f"by must be one of {', '.join(GROUPS)}")
    group: GroupBy = by  # type: ignore[assignment]
    state = get_state(request)
    rows = await run_blocking(
        lambda: summarize_ledger(state.settings, by=group, since=since, tenant=principal.tenant), timeout=10.0
    )
    return {
        "by": by,
        "since": since.isoformat() if since else None,
        "tenant": principal.tenant,
        "rows": [r.to_dict() for r in rows],
    }
