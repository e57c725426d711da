"""``POST /v1/feedback``: thumbs up or down on an answer, with a comment (:mod:`ragwright.service.feedback`).

Any key that may ask may rate; the rating is stored under the key's tenant (and key id), never a tenant named in the
body. ``ragwright eval import feedback`` turns ratings into eval cases.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS, KbName, TurnIn
from ragwright.service.feedback import MAX_COMMENT, Feedback, Rating

router = APIRouter(tags=["answers"])
Reader = Annotated[Principal, Depends(require_read)]


class FeedbackIn(BaseModel):
    """A rating of one answer: what was asked and answered (as the answer's ``done`` event carried it)."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base: KbName = "default"
    rating: Rating
    comment: str = Field("", max_length=MAX_COMMENT)
    question: str = Field(min_length=1, max_length=4000)
    answer: str = Field(max_length=20000)
    abstained: bool = False
    cited_docs: list[str] = Field(default_factory=list, max_length=50)
    cited_chunks: list[str] = Field(default_factory=list, max_length=50)
    model: str | None = Field(None, max_length=200)
    prompt_version: str | None = Field(None, max_length=200)
    answerability: float | None = Field(None, ge=0.0, le=1.0)
    trace_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")
    history: list[TurnIn] = Field(default_factory=list, max_length=20)


class FeedbackOut(BaseModel):
    """A stored rating."""

    object: Literal["feedback"] = "feedback"
    id: str
    knowledge_base: str
    rating: Rating
    created_at: float


def feedback_of(principal: Principal, body: FeedbackIn) -> Feedback:
    """Build the rating of ``body`` for the key's tenant (the one place the HTTP and web forms do it)."""
    return Feedback(
        tenant=principal.tenant,
        kb=body.knowledge_base,
        rating=body.rating,
        question=body.question,
        answer=body.answer,
        comment=body.comment.strip(),
        abstained=body.abstained,
        cited_docs=tuple(dict.fromkeys(body.cited_docs)),
        cited_chunks=tuple(dict.fromkeys(body.cited_chunks)),
        model=body.model,
        prompt_version=body.prompt_version,
        answerability=body.answerability,
        trace_id=body.trace_id,
        key_id=principal.key.key_id,
        history=tuple((t.role, t.content) for t in body.history),
    )


@router.post("/v1/feedback", status_code=201, response_model=FeedbackOut, responses=ERRORS)
async def feedback(body: FeedbackIn, request: Request, principal: Reader) -> FeedbackOut:
    """Rate an answer (thumbs up or down, with an optional comment)."""
    state = get_state(request)
    principal.store_tenant(body.knowledge_base)
    stored = await run_blocking(state.feedback.add, feedback_of(principal, body), timeout=state.service.request_timeout)
    return FeedbackOut(id=stored.id, knowledge_base=stored.kb, rating=stored.rating, created_at=stored.created_at)
