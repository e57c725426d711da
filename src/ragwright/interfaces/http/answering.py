"""The ask pipeline as the HTTP routes use it: one blocking call, or a stream of verified sentences.

``POST /v1/answer`` and ``rag:`` chat completions share these. Both respect the key's tenant and tags (the filters
come from :meth:`Principal.filters`), both rewrite a follow-up with the conversation before retrieval, and a stream
sends each sentence as soon as it is verified (:mod:`ragwright.answering.stream`): generated text goes through the
process's one gateway (:meth:`SyncGateway.stream`), verification runs on worker threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from fastapi.responses import StreamingResponse

from ragwright.answering.conversation import Turn
from ragwright.answering.service import ABSTAIN_TEXT, Asker
from ragwright.answering.stream import Done, SentenceEvent, StreamEvent, stream_answer
from ragwright.answering.types import AbstentionReason, Answer, AnsweredBy
from ragwright.gateway.types import ChatRequest, Chunk
from ragwright.interfaces.http.auth import Principal
from ragwright.interfaces.http.errors import translate
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.sse import SSE_HEADERS, answer_out, citation_out, sse
from ragwright.interfaces.http.state import ServiceState
from ragwright.store.base import Filters

__all__ = ["answer_events", "answer_stream", "ask", "token_usage"]

T = TypeVar("T")


def _no_access(question: str) -> Answer:
    return Answer(
        question=question,
        text=ABSTAIN_TEXT,
        citations=[],
        abstained=True,
        support=0.0,
        answered_by=AnsweredBy.ABSTAINED,
        abstention=AbstentionReason.NO_ACCESS,
    )


def _scope(
    state: ServiceState, principal: Principal, kb: str, requested: Filters | None
) -> tuple[str, Filters | None] | None:
    """The store tenant and filters the key may read in ``kb``, or None when it may read nothing there."""
    filters = principal.filters(requested)
    if filters is False or not state.index_exists():
        return None
    return principal.store_tenant(kb), filters


def ask(
    state: ServiceState,
    principal: Principal,
    question: str,
    kb: str,
    requested: Filters | None,
    history: Sequence[Turn] = (),
) -> Answer:
    """Answer ``question`` from knowledge base ``kb`` within what the key may read (blocking; run it on a thread)."""
    scope = _scope(state, principal, kb, requested)
    if scope is None:
        answer = _no_access(question)
    else:
        tenant, filters = scope
        with state.reader() as rw:
            answer = rw.ask(question, tenant=tenant, filters=filters, history=history, caller=principal.caller(kb))
    state.metrics.observe_answer(answer)
    return answer


async def answer_events(
    state: ServiceState,
    principal: Principal,
    question: str,
    kb: str,
    requested: Filters | None,
    history: Sequence[Turn] = (),
) -> AsyncIterator[StreamEvent]:
    """The answer as :class:`SentenceEvent` s, each sent once verified, then :class:`Done`."""
    scope = _scope(state, principal, kb, requested)
    if scope is None:
        answer = _no_access(question)
        state.metrics.observe_answer(answer)
        yield Done(answer)
        return
    tenant, filters = scope
    timeout = state.service.request_timeout

    async def to_thread(fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(fn, *args, timeout=timeout)

    mode = state.settings.answer.generator
    stream = None
    if mode != "extractive":

        def stream(request: ChatRequest) -> AsyncIterator[Chunk]:
            return state.gateway.stream(state.gateway.gateway.model(request.model), request)

    with state.reader() as rw:
        asker: Asker = await to_thread(rw.asker, mode)
        async for event in stream_answer(
            asker,
            tenant,
            question,
            filters=filters,
            history=history,
            stream=stream,
            to_thread=to_thread,
            caller=principal.caller(kb),
        ):
            if isinstance(event, Done):
                state.metrics.observe_answer(event.answer)
            yield event


async def answer_stream(
    state: ServiceState,
    principal: Principal,
    question: str,
    kb: str,
    requested: Filters | None,
    history: Sequence[Turn] = (),
) -> StreamingResponse:
    """The answer as server-sent events: ``delta`` ({text, citations}: one verified sentence and the citations it
    adds), then ``done`` (the whole :class:`AnswerOut`) or ``error``. ``POST /v1/answer`` with ``stream: true`` and
    the chat page both send this."""
    events = answer_events(state, principal, question, kb, requested, history)
    first = await anext(events)  # before the first byte: a failure here is a plain JSON error with its status

    async def stream() -> AsyncIterator[bytes]:
        # Each sentence is sent once verified against the evidence, with the citations it adds: the first one
        # while the model is still writing, and never text that verification removes.
        event: StreamEvent | None = first
        try:
            while event is not None:
                if isinstance(event, SentenceEvent):
                    data = {"text": event.text, "citations": [citation_out(c).model_dump() for c in event.citations]}
                    yield sse(data, "delta")
                else:
                    yield sse(answer_out(event.answer, kb).model_dump(), "done")
                event = await anext(events, None)
        except Exception as exc:  # after the first byte: an explicit error event, never a silent truncation
            state.metrics.stream_errors.inc()
            err = translate(exc)
            yield sse({"type": err.type, "message": err.message}, "error")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


def token_usage(state: ServiceState, prompt: str, answer: Answer, content: str) -> dict[str, int]:
    """OpenAI ``usage``: the model's own counts when a model wrote the answer, else the embedding tokenizer's count
    of the conversation and of the reply (blocking: tokenizes)."""
    if answer.model is not None and answer.usage.get("output_tokens"):
        prompt_tokens, completion = answer.usage.get("input_tokens", 0), answer.usage["output_tokens"]
    else:
        with state.reader() as rw:
            count = rw.embedder.count_tokens
            prompt_tokens, completion = count(prompt), count(content)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}
