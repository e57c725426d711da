"""Helpers the policies share: opening a stream up to its first chunk, relaying the rest, token estimates.

A policy acts on a stream only *before* its first chunk (retry, fall back, refuse); once a chunk has reached the
caller, any failure surfaces as :class:`~ragwright.errors.StreamInterrupted` and is never hidden.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, AsyncIterator

from ragwright.errors import GatewayError, StreamInterrupted
from ragwright.gateway.types import ChatRequest, Chunk

DEFAULT_MAX_TOKENS = 4096
"""Output cap assumed for a request without ``max_tokens`` when reserving tokens or worst-case cost."""


async def aclose(stream: AsyncIterator[Chunk]) -> None:
    """Close an async generator (releases its connection); a plain iterator has nothing to close."""
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        await closer()


async def open_stream(stream: AsyncIterator[Chunk]) -> Chunk | None:
    """The first chunk of ``stream`` (None if it ends at once). On an error the stream is closed and it propagates."""
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None
    except BaseException:
        await aclose(stream)
        raise


async def relay(first: Chunk | None, stream: AsyncIterator[Chunk], *, provider: str) -> AsyncGenerator[Chunk, None]:
    """Yield ``first`` and then the rest of ``stream``. A gateway error after the first chunk becomes
    :class:`StreamInterrupted` (the caller already has content: it must see an error, not a shorter success)."""
    try:
        if first is None:
            return
        yield first
        async for chunk in stream:
            yield chunk
    except StreamInterrupted:
        raise
    except GatewayError as exc:
        raise StreamInterrupted(
            f"{provider}: stream failed after its first chunk: {exc}", provider=provider, cause=exc
        ) from exc
    finally:
        await aclose(stream)


def estimate_tokens(text: str, extra_chars: int = 0) -> int:
    """A deliberately high estimate of a text's tokens without a tokenizer: one per 3 characters (``extra_chars``
    counted too), at least 1.3 per word."""
    return max(math.ceil((len(text) + extra_chars) / 3), math.ceil(len(text.split()) * 1.3))


def estimate_input_tokens(request: ChatRequest) -> int:
    """A deliberately high estimate of the prompt's tokens (no tokenizer needed): :func:`estimate_tokens` of the
    message text and tool schemas, plus 4 per message for role markup."""
    schemas = sum(len(json.dumps(t.parameters)) + len(t.name) + len(t.description) for t in request.tools)
    return estimate_tokens(request.prompt_text, schemas) + 4 * len(request.messages)


def max_output_tokens(request: ChatRequest, default: int = DEFAULT_MAX_TOKENS) -> int:
    return request.max_tokens if request.max_tokens is not None else default


def candidate_names(model: object) -> list[str]:
    """The ``provider:model`` names a call through ``model`` may reach: a fallback chain lists all of its models."""
    names = getattr(model, "candidate_names", None)
    if callable(names):
        result: list[str] = names()
        return result
    inner = getattr(model, "inner", None)
    if inner is not None:
        return candidate_names(inner)
    return [str(getattr(model, "name", ""))]
