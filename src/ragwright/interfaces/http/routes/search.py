"""``POST /v1/search`` and ``POST /v1/answer`` (JSON, or server-sent events with ``stream: true``)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from ragwright.answering.conversation import Turn
from ragwright.interfaces.http.answering import answer_stream, ask
from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS, AnswerIn, AnswerOut, SearchIn, SearchOut
from ragwright.interfaces.http.sse import answer_out, citation_out
from ragwright.interfaces.http.state import ServiceState
from ragwright.retrieval.retriever import SearchResult
from ragwright.store.base import Filters

router = APIRouter(tags=["retrieval"])
Reader = Annotated[Principal, Depends(require_read)]


def _search(state: ServiceState, body: SearchIn, tenant: str, filters: Filters | None) -> SearchResult:
    with state.reader() as rw:
        return rw.search(body.query, tenant=tenant, k=body.k, mode=body.mode, filters=filters)


def search_json(query: str, mode: str, kb: str, result: SearchResult | None) -> bytes:
    """The :class:`SearchOut` body, serialised directly (same fields, order and values as the model's JSON): the
    route returns these bytes, which spares FastAPI validating and serialising the response model on every search."""
    hits = (
        []
        if result is None
        else [
            {
                "rank": h.rank,
                "score": float(round(h.score, 6)),
                "doc_id": h.chunk.doc_path,
                **h.chunk.passage_json(),
            }
            for h in result.hits
        ]
    )
    timings = {} if result is None else {k: float(round(v, 3)) for k, v in result.timings_ms.items()}
    return orjson.dumps(
        {
            "object": "search_result",
            "query": query,
            "mode": mode,
            "knowledge_base": kb,
            "hits": hits,
            "timings_ms": timings,
        }
    )


@router.post("/v1/search", response_model=SearchOut, responses=ERRORS)
async def search(body: SearchIn, request: Request, principal: Reader) -> Response:
    """Ranked passages of one knowledge base (only documents the key may read)."""
    state = get_state(request)
    tenant = principal.store_tenant(body.knowledge_base)
    filters = principal.filters(body.filters.to_filters() if body.filters else None)
    if filters is False or not state.index_exists():
        content = search_json(body.query, body.mode or state.settings.retrieval.mode, body.knowledge_base, None)
    else:
        result = await run_blocking(_search, state, body, tenant, filters, timeout=state.service.request_timeout)
        content = search_json(body.query, result.mode, body.knowledge_base, result)
    return Response(content, media_type="application/json")


@router.post(
    "/v1/answer",
    response_model=AnswerOut,
    responses={
        **ERRORS,
        200: {
            "description": "The answer; with `stream: true`, `text/event-stream` events `delta` ({text, citations}: "
            "one verified sentence and the citations it adds), then `done` (the whole answer) or `error`."
        },
    },
)
async def answer(body: AnswerIn, request: Request, principal: Reader) -> AnswerOut | StreamingResponse:
    """A cited answer from the documents, or an abstention with the closest passages."""
    state = get_state(request)
    principal.store_tenant(body.knowledge_base)
    requested = body.filters.to_filters() if body.filters else None
    history = [Turn(t.role, t.content) for t in body.history if t.content.strip()]
    if not body.stream:
        result = await run_blocking(
            ask,
            state,
            principal,
            body.question,
            body.knowledge_base,
            requested,
            history,
            timeout=state.service.request_timeout,
        )
        return answer_out(result, body.knowledge_base)
    return await answer_stream(state, principal, body.question, body.knowledge_base, requested, history)


__all__ = ["citation_out", "router", "search_json"]
