"""Fallback: try an ordered chain of models until one answers.

What moves on to the next model (:func:`falls_back`):

- every transient error (5xx, 429, timeouts, connection and protocol errors), an open breaker, our rate limit;
- HTTP 401, 403 and 404: that provider's key, permission or model is wrong, another provider may be fine;
- :class:`~ragwright.errors.ProviderUnavailable`: no API key configured, or a local model package missing;
- :class:`~ragwright.errors.ContextLengthExceeded`: skips to the next model whose context window
  (``gateway.base.context_window``, else the error's ``limit``) is larger than the failing one's; models that declare
  no window are skipped too, since nothing says they are larger. When the failing window is unknown, every remaining
  model is tried.

What propagates at once: :class:`~ragwright.errors.BudgetExceeded` (spending is the caller's decision), other 4xx
such as 400/422 (the request itself is wrong, and the caller needs that provider's message rather than a second
model's different complaint), :class:`~ragwright.errors.ContentFiltered` (a refusal is not routed around), and
:class:`~ragwright.errors.StreamInterrupted`.

Each model is tried once: the chain never restarts a model's retries. The path is recorded in
``ChatResponse.attempts``; when every model fails, :class:`~ragwright.errors.AllProvidersFailed` lists each error.

Streams fall back only before their first chunk; after it a failure raises ``StreamInterrupted``.

Example::

    model = Fallback([Retry(CircuitBreaker(Timeout(openai, ...), ...), ...), local])
    reply = await model.chat(request)
    [a.model for a in reply.attempts]   # e.g. ['openai:gpt-4o-mini', 'local:smollm2']
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

from ragwright.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContentFiltered,
    ContextLengthExceeded,
    GatewayError,
    ProviderHTTPError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
)
from ragwright.gateway.base import ChatModel, WrapperModel, context_window
from ragwright.gateway.policies._shared import candidate_names, open_stream, relay
from ragwright.gateway.types import Attempt, ChatRequest, ChatResponse, Chunk

_PROVIDER_SIDE_STATUSES = (401, 403, 404)


def falls_back(exc: GatewayError) -> bool:
    """Whether the chain moves on to the next model after ``exc`` (ContextLengthExceeded is handled separately)."""
    if isinstance(exc, (BudgetExceeded, StreamInterrupted, ContentFiltered)):
        return False
    if isinstance(exc, (CircuitOpen, RateLimited, ContextLengthExceeded, ProviderUnavailable)) or exc.transient:
        return True
    return isinstance(exc, ProviderHTTPError) and exc.status in _PROVIDER_SIDE_STATUSES


class Fallback(WrapperModel):
    """``name`` is the first model's (the chain is known by its primary model); see :meth:`candidate_names`."""

    def __init__(self, models: Sequence[ChatModel]) -> None:
        if not models:
            raise ValueError("Fallback needs at least one model")
        super().__init__(models[0])
        self.models = list(models)
        self.fell_back = 0
        """Calls answered (or streams opened) by a model after the first one failed."""

    async def aclose(self) -> None:
        for model in self.models:
            await model.aclose()

    def candidate_names(self) -> list[str]:
        """Every ``provider:model`` this chain may call (budgets reserve for the dearest)."""
        return [name for model in self.models for name in candidate_names(model)]

    @property
    def context_window(self) -> int | None:
        windows = [w for w in (context_window(m) for m in self.models) if w is not None]
        return max(windows) if windows else None

    def _eligible(self, model: ChatModel, min_window: int | None) -> bool:
        if min_window is None:
            return True
        window = context_window(model)
        return window is not None and window > min_window

    def _after_failure(self, model: ChatModel, exc: GatewayError, min_window: int | None) -> int | None:
        """Raise ``exc`` when it must not fall back; otherwise the context window the next model must exceed."""
        if not falls_back(exc):
            raise exc
        if isinstance(exc, ContextLengthExceeded):
            failing = context_window(model) or exc.limit
            if failing is None:
                return min_window  # nothing to compare with: every remaining model may be larger
            return max(failing, min_window or 0)
        return min_window

    async def chat(self, request: ChatRequest) -> ChatResponse:
        attempts: list[Attempt] = []
        errors: list[tuple[str, GatewayError]] = []
        min_window: int | None = None
        for model in self.models:
            if not self._eligible(model, min_window):
                continue
            started = time.monotonic()
            try:
                response = await model.chat(request)
            except GatewayError as exc:
                min_window = self._after_failure(model, exc, min_window)
                errors.append((model.name, exc))
                attempts.append(
                    Attempt(model.name, f"{type(exc).__name__}: {exc}", (time.monotonic() - started) * 1000)
                )
                continue
            if not attempts:
                return response
            self.fell_back += 1
            ok = response.attempts or (Attempt(response.model or model.name, None, response.latency_ms),)
            return response.replace(attempts=tuple(attempts) + ok)
        raise AllProvidersFailed(errors)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        errors: list[tuple[str, GatewayError]] = []
        min_window: int | None = None
        for model in self.models:
            if not self._eligible(model, min_window):
                continue
            stream = model.stream(request)
            try:
                first = await open_stream(stream)
            except GatewayError as exc:
                min_window = self._after_failure(model, exc, min_window)
                errors.append((model.name, exc))
                continue
            if errors:
                self.fell_back += 1
            relayed = relay(first, stream, provider=model.name)
            try:
                async for chunk in relayed:
                    yield chunk
            finally:
                await relayed.aclose()
            return
        raise AllProvidersFailed(errors)
