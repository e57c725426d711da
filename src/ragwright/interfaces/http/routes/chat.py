"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``.

Model ``rag:<knowledge-base>`` answers the last user message from that knowledge base: the message content is the
answer followed by a numbered source list, and the response carries the citations as an extra ``citations`` field
(on the last chunk when streaming). Any other model name goes through the gateway (its fallback chain, retries,
budgets and limits). Streams are ``data: <chunk>`` events ending with ``data: [DONE]``; a failure after the first
chunk ends the stream with ``data: {"error": {...}}`` and no ``[DONE]``, so a client never takes a cut-off answer
for a complete one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ragwright.answering.conversation import Turn
from ragwright.answering.stream import SentenceEvent, StreamEvent
from ragwright.errors import ProviderTimeout, StreamInterrupted, UnknownModel
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import ChatRequest, Chunk, Message, Role
from ragwright.interfaces.http.answering import answer_events, ask, token_usage
from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.errors import ApiError, translate
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import (
    ERRORS,
    ChatCompletionIn,
    ChatCompletionOut,
    ChatMessageIn,
    ModelList,
    ModelOut,
)
from ragwright.interfaces.http.sse import SSE_HEADERS, citation_out, sse, with_sources
from ragwright.interfaces.http.state import ServiceState
from ragwright.redact import quote_id
from ragwright.service.kbs import DEFAULT_KB

router = APIRouter(tags=["openai"])
Reader = Annotated[Principal, Depends(require_read)]
RAG_PREFIX = "rag:"
_STARTED = int(time.time())


@router.get("/v1/models", response_model=ModelList, responses=ERRORS)
async def models(request: Request, principal: Reader) -> ModelList:
    """``rag:<kb>`` for each of the tenant's knowledge bases, then the models the gateway serves."""
    state = get_state(request)
    data = [
        ModelOut(id=RAG_PREFIX + kb, created=_STARTED, owned_by="ragwright") for kb in state.kbs.list(principal.tenant)
    ]
    data += [
        ModelOut(id=m, created=_STARTED, owned_by=m.partition(":")[0] if ":" in m else "gateway")
        for m in state.gateway_models()
    ]
    return ModelList(data=data)


@router.post(
    "/v1/chat/completions",
    responses={
        **ERRORS,
        200: {
            "model": ChatCompletionOut,
            "description": "A chat.completion, or with `stream: true` chat.completion.chunk events.",
        },
    },
)
async def chat_completions(body: ChatCompletionIn, request: Request, principal: Reader) -> Any:
    """Chat completions in OpenAI's format."""
    state = get_state(request)
    if body.model.startswith(RAG_PREFIX):
        return await _rag(state, principal, body)
    return await _proxy(state, principal, body)


def _completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _conversation(messages: list[ChatMessageIn]) -> tuple[str, list[Turn]]:
    """The last user message with text, and the user and assistant turns before it (for the follow-up rewrite)."""
    turns = [(m.role, m.text()) for m in messages if m.role in ("user", "assistant") and m.content is not None]
    last = max((i for i, (role, text) in enumerate(turns) if role == "user" and text.strip()), default=None)
    if last is None:
        raise ApiError(400, "bad_request", "a rag: model needs a user message with text")
    history = [Turn(role, text[:4000]) for role, text in turns[:last] if text.strip()]
    return turns[last][1].strip()[:4000], history[-10:]


def _kb_exists(state: ServiceState, principal: Principal, kb: str) -> bool:
    """``default`` always exists; another knowledge base when the tenant created it or it holds documents."""
    if kb == DEFAULT_KB or kb in state.kbs.list(principal.tenant):
        return True
    if not state.index_exists():
        return False
    with state.reader() as rw:
        return rw.store.stats(principal.store_tenant(kb)).documents > 0


async def _rag(state: ServiceState, principal: Principal, body: ChatCompletionIn) -> Any:
    kb = body.model[len(RAG_PREFIX) :] or DEFAULT_KB
    principal.store_tenant(kb)
    timeout = state.service.request_timeout
    if not await run_blocking(_kb_exists, state, principal, kb, timeout=timeout):
        raise UnknownModel(
            f"unknown knowledge base {quote_id(kb)}: GET /v1/models lists rag:<knowledge-base> for yours",
            name=body.model,
        )
    question, history = _conversation(body.messages)
    prompt = "\n".join(m.text() for m in body.messages if m.content is not None)
    cid = _completion_id()
    if not body.stream:
        answer = await run_blocking(ask, state, principal, question, kb, None, history, timeout=timeout)
        content = with_sources(answer)
        usage = await run_blocking(token_usage, state, prompt, answer, content, timeout=timeout)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
            "citations": [citation_out(c).model_dump() for c in answer.citations],
            "abstained": answer.abstained,
        }

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    events = answer_events(state, principal, question, kb, None, history)
    first = await anext(events)  # before the first byte: a failure here is a plain JSON error with its status

    async def stream() -> AsyncIterator[bytes]:
        # Each sentence is sent once verified against the evidence (the first while the model is still writing);
        # the numbered sources follow the last one, the citations ride on the final chunk.
        yield sse(_chunk(cid, body.model, {"role": "assistant", "content": ""}))
        event: StreamEvent | None = first
        sent = ""
        try:
            while event is not None:
                if isinstance(event, SentenceEvent):
                    piece = (" " if sent else "") + event.text
                    sent += piece
                    yield sse(_chunk(cid, body.model, {"content": piece}))
                    event = await anext(events, None)
                    continue
                answer = event.answer
                content = with_sources(answer)
                tail = content[len(answer.text) :] if sent else content  # the sentences are answer.text already
                if tail:
                    yield sse(_chunk(cid, body.model, {"content": tail}))
                citations = [citation_out(c).model_dump() for c in answer.citations]
                yield sse(_chunk(cid, body.model, {}, "stop", citations=citations, abstained=answer.abstained))
                if include_usage:
                    usage = await run_blocking(token_usage, state, prompt, answer, content, timeout=timeout)
                    yield sse({**_chunk(cid, body.model, {}), "choices": [], "usage": usage})
                event = None
        except Exception as exc:  # after the first byte: an explicit error event, never a silent truncation
            state.metrics.stream_errors.inc()
            err = translate(exc)
            yield sse({"error": {"type": err.type, "message": err.message}})
            return
        yield sse("[DONE]")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


def _gateway_request(principal: Principal, body: ChatCompletionIn) -> ChatRequest:
    if body.tools:
        raise ApiError(400, "bad_request", "tools are not supported by ragwright's chat completions endpoint")
    messages = []
    for m in body.messages:
        role: Role = "system" if m.role == "developer" else m.role
        messages.append(
            Message(role, m.text() if m.content is not None else None, tool_call_id=m.tool_call_id, name=m.name)
        )
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return ChatRequest(
        model=body.model,
        messages=tuple(messages),
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        seed=body.seed,
        stop=stop,
        context=principal.caller(),
    )


async def _proxy(state: ServiceState, principal: Principal, body: ChatCompletionIn) -> Any:
    request = _gateway_request(principal, body)
    model = state.chat_model(body.model)
    if body.stream:
        return await _proxy_stream(state, model, request, body)
    gateway = state.gateway  # the process's one gateway, on its own loop: calls are relayed from there
    timeout = state.service.request_timeout
    try:
        with anyio.fail_after(timeout):
            reply = await gateway.call(model.chat(request))
    except TimeoutError:
        raise ProviderTimeout("total", timeout, provider=body.model) from None
    except Exception as exc:  # whatever the model raised: the one error table's answer, not a dropped connection
        raise translate(exc) from exc
    u = reply.usage
    return JSONResponse(
        {
            "id": reply.id or _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text, "refusal": None},
                    "finish_reason": _finish(reply.finish_reason),
                    "logprobs": None,
                }
            ],
            "usage": _usage(u.input_tokens, u.output_tokens),
        }
    )


async def _proxy_stream(state: ServiceState, model: ChatModel, request: ChatRequest, body: ChatCompletionIn) -> Any:
    timeout = state.service.request_timeout
    cid = _completion_id()
    stream = state.gateway.stream(model, request)  # iterated on the gateway's loop, chunks relayed here
    try:  # the first chunk is awaited before answering, so an early failure is a plain JSON error with its status
        with anyio.fail_after(timeout):
            first: Chunk | None = await stream.__anext__()
    except StopAsyncIteration:
        first = None
    except TimeoutError:
        await stream.aclose()
        raise ProviderTimeout("first_token", timeout, provider=body.model) from None
    except Exception as exc:
        raise translate(exc) from exc
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events() -> AsyncIterator[bytes]:
        yield sse(_chunk(cid, body.model, {"role": "assistant", "content": ""}))
        chunk = first
        usage = None
        finished = False
        try:
            while chunk is not None:
                if chunk.finish_reason == "error":
                    raise StreamInterrupted("the model reported an error mid-stream", provider=chunk.model or None)
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.delta:
                    yield sse(_chunk(cid, chunk.model or body.model, {"content": chunk.delta}))
                if chunk.finish_reason is not None:
                    finished = True
                    yield sse(_chunk(cid, chunk.model or body.model, {}, _finish(chunk.finish_reason)))
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    chunk = None
            if not finished:
                raise StreamInterrupted("the model's stream ended without a finish reason")
        except Exception as exc:  # after the first chunk: tell the client explicitly, never end as if complete
            state.metrics.stream_errors.inc()
            err = translate(exc)
            yield sse({"error": {"type": err.type, "message": err.message}})
            return
        finally:
            await stream.aclose()
        if include_usage and usage is not None:
            yield sse(
                {**_chunk(cid, body.model, {}), "choices": [], "usage": _usage(usage.input_tokens, usage.output_tokens)}
            )
        yield sse("[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


def _finish(reason: str) -> str:
    return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"
