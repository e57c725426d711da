"""``GET /v1/traces`` and ``GET /v1/traces/{trace_id}``: the local trace store, for admin keys.

An admin key sees its own tenant's traces only (another tenant's trace is a 404, like one that does not exist). In a
trace, a chunk's text is read from the index and shown only when the key may read its document; a tag-limited key
sees ``"hidden"`` in place of the others' ids and text, and message content only when it may read every document the
trace retrieved (:mod:`ragwright.observability.views`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from ragwright.errors import TraceNotFound
from ragwright.interfaces.http.auth import Principal, get_state, require
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS
from ragwright.interfaces.http.state import ServiceState
from ragwright.observability.trace_store import TraceFilter
from ragwright.observability.views import TraceView, summary_dict, trace_view
from ragwright.redact import quote_id
from ragwright.service.keys import ApiKey
from ragwright.store.base import StoredChunk

router = APIRouter(tags=["traces"])
Admin = Annotated[Principal, Depends(require("admin"))]


class TraceSummaryOut(BaseModel):
    """One trace as listed."""

    trace_id: str
    tenant: str | None
    key_id: str | None
    root: str
    started_at: str
    duration_ms: float
    spans: int
    errors: int
    cost_usd: float | None


class TraceListOut(BaseModel):
    """The newest traces of the key's tenant; ``next_before`` pages on (pass it as ``before``)."""

    object: str = "list"
    data: list[TraceSummaryOut]
    next_before: int | None


class ChunkOut(BaseModel):
    """A retrieved chunk: rank and score, its document and text when the key may read it (else ``hidden``/null)."""

    span_id: str
    rank: int
    score: float
    doc_id: str
    chunk_id: str
    text: str | None
    scores: dict[str, float | None]


class TraceOut(BaseModel):
    """One trace: its summary, its spans (start offsets and durations in ms, attributes), the chunks it retrieved,
    and the share of its time outside leaf stages."""

    trace: TraceSummaryOut
    uncovered_share: float
    spans: list[dict[str, Any]]
    chunks: list[ChunkOut]


@router.get("/v1/traces", response_model=TraceListOut, responses=ERRORS)
async def list_traces(
    request: Request,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    before: Annotated[int | None, Query(ge=0, description="next_before of the previous page")] = None,
    root: Annotated[str | None, Query(max_length=200, description="Only traces whose root span has this name.")] = None,
    key_id: Annotated[str | None, Query(max_length=64, description="Only traces of this API key.")] = None,
    errors: Annotated[bool, Query(description="Only traces with a failed span.")] = False,
    min_ms: Annotated[float | None, Query(ge=0, le=86_400_000, description="Only traces at least this long.")] = None,
) -> TraceListOut:
    """The newest traces of this key's tenant (root span, duration, span and error counts, model cost), filtered."""
    state = get_state(request)
    store = state.trace_store()
    if store is None:
        return TraceListOut(data=[], next_before=None)
    where = TraceFilter(root=root, key_id=key_id, errors_only=errors, min_ms=min_ms)
    traces = await run_blocking(
        lambda: store.list(tenant=principal.tenant, limit=limit, before_ns=before, where=where),
        timeout=state.service.request_timeout,
    )
    nxt = traces[-1].started_ns if len(traces) == limit else None
    return TraceListOut(data=[TraceSummaryOut(**summary_dict(t)) for t in traces], next_before=nxt)


@router.get("/v1/traces/{trace_id}", response_model=TraceOut, responses=ERRORS)
async def get_trace(trace_id: str, request: Request, principal: Admin) -> TraceOut:
    """One trace of this key's tenant: spans, timings, model attempts, chunks and scores."""
    state = get_state(request)
    return await run_blocking(_trace, state, principal, trace_id.lower(), timeout=state.service.request_timeout)


def read_trace(state: ServiceState, key: ApiKey, trace_id: str) -> TraceView:
    """One trace of ``key``'s tenant as ``key`` may see it (chunk text from the index where its tags allow);
    :class:`TraceNotFound` for a missing trace or another tenant's. Blocking: call it off the event loop."""
    store = state.trace_store()
    detail = None if store is None or len(trace_id) > 64 else store.get(trace_id.lower(), tenant=key.tenant)
    if detail is None:
        raise TraceNotFound(f"no trace {quote_id(trace_id)}")

    def fetch(tenant: str, ids: Sequence[str]) -> list[StoredChunk]:
        if not state.index_exists():
            return []
        with state.reader() as rw:
            return rw.store.get(tenant, list(ids))

    return trace_view(detail, fetch=fetch, scope=key.scope)


def _trace(state: ServiceState, principal: Principal, trace_id: str) -> TraceOut:
    view = read_trace(state, principal.key, trace_id)
    return TraceOut(
        trace=TraceSummaryOut(**summary_dict(view.summary)),
        uncovered_share=round(view.uncovered_share, 4),
        spans=view.spans,
        chunks=[ChunkOut(**asdict(c)) for c in view.chunks],
    )
