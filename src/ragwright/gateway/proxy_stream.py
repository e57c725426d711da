"""The proxy's streaming responses: the first chunk decides between a plain error and a 200 event stream; after it,
chunks become ``data:`` events, and any failure an explicit error event (never a silent end). A client that goes
away cancels the upstream stream.

Example::

    await stream_response(model, request, opts, receive, send, (b"x-request-id", b"5f3a-1"))   # for ``stream: true``
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import suppress
from typing import Any

import orjson

from ragwright.errors_http import http_error
from ragwright.gateway.base import ChatModel
from ragwright.gateway.policies._shared import aclose
from ragwright.gateway.proxy_wire import Options, chunk_delta, chunk_json, error_body, usage_json
from ragwright.gateway.types import ChatRequest, Chunk

__all__ = ["Receive", "Reply", "Send", "error_reply", "send_reply", "stream_response"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]
"""(status, JSON body, extra headers)"""

_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def error_reply(exc: BaseException) -> Reply:
    """The OpenAI-shaped error for ``exc``, with the status, type, code and Retry-After of the shared table."""
    err = http_error(exc)
    extra = [(k.lower().encode(), v.encode()) for k, v in err.headers().items()]
    return err.status, orjson.dumps(error_body(err.message, err.type, err.code)), extra


async def send_reply(
    send: Send, reply: Reply, request_id: tuple[bytes, bytes], content_type: bytes = b"application/json"
) -> int:
    """Send ``reply`` with the ``X-Request-Id`` header ``request_id``; returns its status."""
    status, body, extra = reply
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                request_id,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


async def stream_response(
    model: ChatModel, req: ChatRequest, opts: Options, receive: Receive, send: Send, request_id: tuple[bytes, bytes]
) -> int:
    """The streamed reply (or the error before its first chunk); returns the status sent."""
    chunks = model.stream(req)
    try:
        first: Chunk | None = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except Exception as exc:  # noqa: BLE001 - before the first chunk: a plain error response, the status says it all
        return await send_reply(send, error_reply(exc), request_id)
    await send({"type": "http.response.start", "status": 200, "headers": [*_SSE_HEADERS, request_id]})
    pump = asyncio.ensure_future(_pump(send, chunks, first, req.model, opts))
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, watch):
            if not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task  # cancelling the pump closes the upstream stream (and records it)
    return 200


async def _pump(send: Send, chunks: AsyncIterator[Chunk], first: Chunk | None, requested: str, opts: Options) -> None:
    async for event in _sse(chunks, first, requested, opts):
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _sse(
    chunks: AsyncIterator[Chunk], first: Chunk | None, requested: str, opts: Options
) -> AsyncIterator[bytes]:
    dumps = orjson.dumps
    name = requested
    chunk = first
    is_first = True
    finished = False
    try:
        while chunk is not None:
            name = chunk.model or name
            if is_first or chunk.delta or chunk.tool_calls:
                yield b"data: " + dumps(chunk_json(opts, name, chunk_delta(chunk, is_first))) + b"\n\n"
                is_first = False
            if chunk.finish_reason is not None:
                finished = True
                yield b"data: " + dumps(chunk_json(opts, name, {}, chunk.finish_reason)) + b"\n\n"
                if opts.include_usage and chunk.usage is not None:
                    last: dict[str, Any] = {
                        "id": opts.id,
                        "object": "chat.completion.chunk",
                        "created": opts.created,
                        "model": name,
                        "choices": [],
                        "usage": usage_json(chunk.usage),
                    }
                    yield b"data: " + dumps(last) + b"\n\n"
            chunk = await anext(chunks, None)
        if not finished:
            yield _sse_error("the upstream stream ended without a final chunk", "upstream_error", "stream_incomplete")
            return
        yield b"data: [DONE]\n\n"
    except Exception as exc:  # noqa: BLE001 - the client must see an error event, whatever broke
        err = http_error(exc)
        yield _sse_error(err.message, err.type, err.code)
    finally:
        await aclose(chunks)


def _sse_error(message: str, kind: str, code: str) -> bytes:
    return b"data: " + orjson.dumps(error_body(message, kind, code)) + b"\n\n"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
