"""The Chat page: ask a knowledge base, read the answer as it streams, open a citation at its source, rate the answer.

Everything here is a thin door over what the API does, behind the UI's session instead of a bearer key:

- ``GET /chat``: the page (knowledge-base picker, the conversation, the citation panel);
- ``POST /chat/stream``: the answer as server-sent events, exactly ``POST /v1/answer`` with ``stream: true``
  (:func:`~ragwright.interfaces.http.answering.answer_stream`: verified sentences with their citations, then the
  whole answer with its answerability, model and prompt version, or the closest passages when it abstains);
- ``GET /chat/source`` and ``GET /chat/original``: a citation located in its original, and the PDF itself
  (:mod:`ragwright.interfaces.http.routes.citations`);
- ``POST /chat/feedback``: thumbs up/down with a comment (:mod:`ragwright.interfaces.http.routes.feedback`).

The POSTs carry the session's CSRF token (``X-CSRF-Token``); the key's tenant, tags and scope apply as in the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from ragwright.answering.conversation import Turn
from ragwright.interfaces.http.answering import answer_stream
from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.routes.citations import (
    ChunkQuery,
    DocQuery,
    EndQuery,
    KbQuery,
    StartQuery,
    locate_citation,
    original_file,
)
from ragwright.interfaces.http.routes.feedback import FeedbackIn, feedback_of
from ragwright.interfaces.http.schemas import AnswerIn
from ragwright.ui.auth import UiUser, ui_read
from ragwright.ui.render import asset, render

router = APIRouter()
User = Annotated[UiUser, Depends(ui_read)]


@router.get("/chat", response_class=HTMLResponse)
async def chat(request: Request, user: User, kb: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    """The chat page."""
    state = get_state(request)
    kbs = await run_blocking(state.kbs.list, user.key.tenant, timeout=state.service.request_timeout)
    config = {
        "stream": str(request.app.url_path_for("chat_stream")),
        "source": str(request.app.url_path_for("chat_source")),
        "feedback": str(request.app.url_path_for("chat_feedback")),
        "pdfjs": asset("vendor/pdfjs/pdf.min.mjs"),
        "pdfjsWorker": asset("vendor/pdfjs/pdf.worker.min.mjs"),
    }
    return render(
        request,
        "chat/index.html",
        user,
        section="chat",
        title="Chat",
        kbs=kbs,
        selected=kb if kb in kbs else kbs[0],
        config=config,
    )


@router.post("/chat/stream")
async def chat_stream(body: AnswerIn, request: Request, user: User) -> StreamingResponse:
    """The answer to ``body.question`` as server-sent events (the same events as ``POST /v1/answer``)."""
    principal = user.principal
    principal.store_tenant(body.knowledge_base)
    requested = body.filters.to_filters() if body.filters else None
    history = [Turn(t.role, t.content) for t in body.history if t.content.strip()]
    state = get_state(request)
    return await answer_stream(state, principal, body.question, body.knowledge_base, requested, history)


@router.get("/chat/source")
async def chat_source(
    request: Request,
    user: User,
    doc_id: DocQuery,
    chunk_id: ChunkQuery,
    start: StartQuery,
    end: EndQuery,
    knowledge_base: KbQuery = "default",
) -> JSONResponse:
    """A citation located in its original (as ``GET /v1/citations/source``; the PDF comes from ``/chat/original``)."""
    view = await locate_citation(
        request, user.principal, knowledge_base, doc_id, chunk_id, start, end, original="chat_original"
    )
    return JSONResponse(view.model_dump(), headers={"Cache-Control": "private, no-store"})


@router.get("/chat/original")
async def chat_original(
    request: Request, user: User, doc_id: DocQuery, knowledge_base: KbQuery = "default"
) -> Response:
    """The original PDF a citation points into."""
    return await original_file(request, user.principal, knowledge_base, doc_id)


@router.post("/chat/feedback", status_code=201)
async def chat_feedback(body: FeedbackIn, request: Request, user: User) -> JSONResponse:
    """Thumbs up or down on an answer, with a comment."""
    state = get_state(request)
    principal = user.principal
    principal.store_tenant(body.knowledge_base)
    stored = await run_blocking(state.feedback.add, feedback_of(principal, body), timeout=state.service.request_timeout)
    return JSONResponse({"id": stored.id, "rating": stored.rating.value}, status_code=201)
