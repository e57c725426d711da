"""Gateway spans: one per request (:class:`TracedRequest`, outermost) and one per attempt at a provider
(:class:`TracedAttempt`, inside ``Retry``, around the breaker), both GenAI client spans named ``"chat {model}"``.

Gateway assembly (``gateway/build.py``) places them::

    TracedRequest ─> Ledgered ─> ... ─> Fallback[ Retry(TracedAttempt(CircuitBreaker(Timeout(provider)))) ... ]

The request span carries the model asked for, the prompt (``RequestContext.prompt``), the usage, cost and cache hit
of the reply, the number of attempts, and message content when the operator opted in. Each attempt span carries the
provider, the model, its retry number (0 for the first try of that model), its position in the fallback chain (0 for
the primary), the breaker's state when it was tried, and its own tokens and cost. The attempt numbers come from a
per-request counter in a context variable, so the retry and fallback policies need no change.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from typing import Any

from opentelemetry.trace import Span, SpanKind

from ragwright.gateway.base import WrapperModel
from ragwright.gateway.policies.breaker import CircuitBreaker
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Usage
from ragwright.observability import semconv, tracing

__all__ = ["TracedAttempt", "TracedRequest"]


class _Attempts:
    """The models tried so far for one request, in order, and how often each."""

    __slots__ = ("order", "tries")

    def __init__(self) -> None:
        self.order: list[str] = []
        self.tries: dict[str, int] = {}

    def next(self, spec: str) -> tuple[int, int]:
        """(retry number, fallback position) of a new attempt at ``spec``."""
        if spec not in self.tries:
            self.order.append(spec)
            self.tries[spec] = 0
        else:
            self.tries[spec] += 1
        return self.tries[spec], self.order.index(spec)

    @property
    def count(self) -> int:
        return sum(self.tries.values()) + len(self.tries)


_ATTEMPTS: contextvars.ContextVar[_Attempts | None] = contextvars.ContextVar("ragwright_attempts", default=None)


def _request_attributes(request: ChatRequest, model: str) -> dict[str, str | int | float | bool]:
    attrs: dict[str, str | int | float | bool] = {semconv.OPERATION: semconv.CHAT, semconv.REQUEST_MODEL: model}
    if request.max_tokens is not None:
        attrs[semconv.REQUEST_MAX_TOKENS] = request.max_tokens
    if request.temperature is not None:
        attrs[semconv.REQUEST_TEMPERATURE] = request.temperature
    if request.seed is not None:
        attrs[semconv.REQUEST_SEED] = request.seed
    prompt = request.context.prompt
    if prompt is not None:
        attrs[semconv.PROMPT_NAME] = prompt.name
        attrs[semconv.PROMPT_VERSION] = prompt.version
    return attrs


def _usage_attributes(usage: Usage, cost: float | None) -> dict[str, int | float]:
    attrs: dict[str, int | float] = {
        semconv.INPUT_TOKENS: usage.input_tokens,
        semconv.OUTPUT_TOKENS: usage.output_tokens,
        semconv.CACHE_READ_TOKENS: usage.cached_input_tokens,
        semconv.CACHE_CREATION_TOKENS: usage.cache_write_tokens,
        semconv.REASONING_TOKENS: usage.reasoning_tokens,
    }
    if cost is not None:
        attrs[semconv.COST_USD] = cost
    return attrs


def _record_response(span: Span, response: ChatResponse) -> None:
    """The reply's model, finish reason, cache hit, usage and cost, in one call (one lock taken, not ten)."""
    attrs: dict[str, Any] = {
        semconv.RESPONSE_MODEL: response.model,
        semconv.FINISH_REASONS: [response.finish_reason],
        semconv.CACHE_HIT: response.cached,
        **_usage_attributes(response.usage, response.cost_usd),
    }
    if response.id:
        attrs[semconv.RESPONSE_ID] = response.id
    span.set_attributes(attrs)


def _messages(request: ChatRequest) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content or ""} for m in request.messages]


class TracedRequest(WrapperModel):
    """The span of one gateway request (see the module)."""

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if not tracing.enabled():
            return await self.inner.chat(request)
        attempts = _Attempts()
        attrs = _request_attributes(request, request.model)
        with tracing.stage(f"chat {request.model}", attrs, kind=SpanKind.CLIENT) as span:
            tracing.record_content(span, semconv.INPUT_MESSAGES, _messages(request))
            token = _ATTEMPTS.set(attempts)
            try:
                response = await self.inner.chat(request)
            finally:
                _ATTEMPTS.reset(token)
                span.set_attribute(semconv.ATTEMPTS, attempts.count)
            _record_response(span, response)
            tracing.record_content(span, semconv.OUTPUT_MESSAGES, [{"role": "assistant", "content": response.text}])
            return response

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        if not tracing.enabled():
            async for chunk in self.inner.stream(request):
                yield chunk
            return
        # A stream's steps may run in different tasks: the span is not made current (the attempts are not its
        # children), it is ended here with the final chunk's usage.
        attrs = {**_request_attributes(request, request.model), semconv.REQUEST_STREAM: True, semconv.ATTEMPTS: 0}
        span = tracing.detached_span(f"chat {request.model}", attrs)
        try:
            async for chunk in self.inner.stream(request):
                if chunk.finish_reason is not None:
                    span.set_attribute(semconv.RESPONSE_MODEL, chunk.model)
                    span.set_attribute(semconv.CACHE_HIT, chunk.cached)
                    span.set_attribute(semconv.FINISH_REASONS, [chunk.finish_reason])
                    if chunk.usage is not None:
                        span.set_attributes(_usage_attributes(chunk.usage, chunk.cost_usd))
                yield chunk
        except BaseException as exc:
            span.set_attribute(semconv.ERROR_TYPE, type(exc).__name__)
            span.record_exception(exc)
            raise
        finally:
            span.end()


class TracedAttempt(WrapperModel):
    """The span of one attempt at one provider model (see the module)."""

    def __init__(self, inner: CircuitBreaker, spec: str) -> None:
        super().__init__(inner)
        self.breaker = inner
        self.spec = spec
        self.provider, _, self.model = spec.partition(":")

    async def chat(self, request: ChatRequest) -> ChatResponse:
        attempts = _ATTEMPTS.get()
        if attempts is None:
            return await self.inner.chat(request)
        retry, position = attempts.next(self.spec)
        attrs = _request_attributes(request, self.model)
        attrs.update(
            {
                semconv.PROVIDER: self.provider,
                semconv.RETRY: retry,
                semconv.FALLBACK_POSITION: position,
                semconv.BREAKER: self.breaker.state,
            }
        )
        with tracing.stage(f"chat {self.model}", attrs, kind=SpanKind.CLIENT) as span:
            response = await self.inner.chat(request)
            _record_response(span, response)
            return response
