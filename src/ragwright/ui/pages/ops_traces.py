"""Operations · Traces (``/ops/traces``, admin keys): the local trace store's traces of the key's tenant, filtered by
root span, key, errors and duration, and one trace as a waterfall of its spans (bars drawn on the server).

Reads go through the same functions as ``GET /v1/traces`` (:meth:`~ragwright.observability.trace_store.
SQLiteTraceStore.list`) and ``GET /v1/traces/{id}`` (:func:`~ragwright.interfaces.http.routes.traces.read_trace`): a
tag-limited admin sees ``hidden`` in place of the documents its tags do not reach, and message content only when it
may read every document the trace retrieved. Without a trace store (tracing never on) the page says what to set.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ragwright.errors import UserError
from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.routes.traces import read_trace
from ragwright.observability.trace_store import TraceFilter, TraceSummary
from ragwright.observability.waterfall import waterfall
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_common import blocking, ops_error, ops_render

router = APIRouter()

PAGE = 50


def _number(value: str, *, upper: float) -> float | None:
    """A non-negative number from a filter field ('' or junk: no filter)."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number <= upper else None


@router.get("/ops/traces")
async def traces_page(
    request: Request,
    user: UiUser = Depends(ui_admin),
    root: Annotated[str, Query(max_length=200)] = "",
    key_id: Annotated[str, Query(max_length=64)] = "",
    errors: Annotated[str, Query(max_length=5)] = "",
    min_ms: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    state = get_state(request)
    store = state.trace_store()
    where = TraceFilter(
        root=root or None, key_id=key_id or None, errors_only=errors == "1", min_ms=_number(min_ms, upper=86_400_000)
    )
    traces: list[TraceSummary] = []
    roots: tuple[str, ...] = ()
    if store is not None:
        traces = await blocking(
            request, lambda: store.list(tenant=user.key.tenant, limit=PAGE, before_ns=before, where=where)
        )
        roots = await blocking(request, lambda: store.roots(tenant=user.key.tenant))
    query = {"root": root, "key_id": key_id, "errors": errors, "min_ms": min_ms}
    return ops_render(
        request,
        "ops/traces.html",
        user,
        sub="traces",
        title="Traces",
        store_on=store is not None,
        tracing=state.settings.observability.tracing,
        traces=traces,
        roots=roots,
        query=query,
        next_before=traces[-1].started_ns if len(traces) == PAGE else None,
        paged=before is not None,
    )


@router.get("/ops/traces/{trace_id}")
async def trace_page(trace_id: str, request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    state = get_state(request)
    try:
        view = await blocking(request, lambda: read_trace(state, user.key, trace_id))
    except UserError as exc:
        return ops_error(request, user, exc)
    spans = {s["span_id"]: s for s in view.spans}
    return ops_render(
        request,
        "ops/trace.html",
        user,
        sub="traces",
        title=f"Trace {view.summary.trace_id[:12]}",
        trace=view.summary,
        bars=waterfall(view.spans),
        spans=spans,
        chunks=view.chunks,
        uncovered=view.uncovered_share,
        as_json=lambda v: json.dumps(v, indent=1, ensure_ascii=False, default=str, sort_keys=True),
    )
