"""Retry: repeat a failed call to the same model, only when repeating can help, and never into a retry storm.

- Only *transient* errors are retried (``GatewayError.transient``: 408/409/425/429/5xx, timeouts, connection and
  protocol errors). A 400, a context-length error, an open breaker (:class:`CircuitOpen` is for the fallback to act
  on), our own rate limit or budget, and a stream cut after its first chunk are raised at once.
- Backoff is exponential with **full jitter**: before retry ``n`` (0-based) it sleeps ``uniform(0, min(max_delay,
  base_delay * 2**n))``. A provider's ``retry_after`` is honoured as a minimum; when it asks for more than
  ``max_delay`` the error is raised instead, so a fallback can answer now rather than wait.
- A :class:`RetryBudget` caps retries at ``budget_min + budget_ratio * calls`` over a sliding window, so an outage
  cannot multiply traffic. The gateway gives each provider its own budget on purpose (``gateway/build.py``): healthy
  traffic to one provider must not buy retries against another that is down.
- Streams are retried only before their first chunk.

The response's ``attempts`` lists every failed try and the one that answered. The backoff and the budget are a
:class:`RetryPolicy`, which also runs calls that are not chats (the remote embedders' and re-rankers' HTTP requests,
:mod:`ragwright.models.remote`) with the same rules and the same ``[gateway.retry]`` settings.

Example::

    model = Retry(CircuitBreaker(Timeout(provider, ...), ...), max_attempts=3, base_delay=0.25, max_delay=8,
                  budget_ratio=0.2, budget_window=60, budget_min=10)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from ragwright.errors import CircuitOpen, GatewayError, StreamInterrupted
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import open_stream, relay
from ragwright.gateway.types import Attempt, ChatRequest, ChatResponse, Chunk

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

_BUCKETS = 10


class RetryBudget:
    """Retries allowed over a sliding window: ``min_retries + ratio * calls``. Memory is a fixed ring of buckets.

    Example::

        budget = RetryBudget(ratio=0.2, window=60.0, min_retries=10)
        budget.record_call()
        if budget.try_spend(): ...  # a retry is allowed
    """

    def __init__(
        self, *, ratio: float = 0.2, window: float = 60.0, min_retries: int = 10, clock: Clock = time.monotonic
    ) -> None:
        self.ratio = ratio
        self.window = window
        self.min_retries = min_retries
        self.clock = clock
        self._width = window / _BUCKETS
        self._buckets: deque[list[int]] = deque()  # [bucket index, calls, retries]
        self.retries_spent = 0
        self.retries_refused = 0

    def _current(self) -> list[int]:
        index = int(self.clock() / self._width)
        while self._buckets and self._buckets[0][0] <= index - _BUCKETS:
            self._buckets.popleft()
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        return self._buckets[-1]

    def record_call(self) -> None:
        self._current()[1] += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        bucket = self._current()
        calls = sum(b[1] for b in self._buckets)
        retries = sum(b[2] for b in self._buckets)
        if retries + 1 > self.min_retries + self.ratio * calls:
            self.retries_refused += 1
            return False
        bucket[2] += 1
        self.retries_spent += 1
        return True


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, GatewayError) and exc.transient and not isinstance(exc, (CircuitOpen, StreamInterrupted))


class RetryPolicy:
    """Which failures to repeat, how long to wait, and the retry budget (see the module); runs any async call.

    Example::

        policy = RetryPolicy(**settings.gateway.retry.model_dump())
        data = await policy.run(lambda: post_json("/embeddings", payload))
    """

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        base_delay: float = 0.25,
        max_delay: float = 8.0,
        budget_ratio: float = 0.2,
        budget_window: float = 60.0,
        budget_min: int = 10,
        budget: RetryBudget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.budget = budget or RetryBudget(
            ratio=budget_ratio, window=budget_window, min_retries=budget_min, clock=clock
        )
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.upstream_attempts = 0

    def delay(self, retry: int, exc: BaseException) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or None when ``exc`` must not be retried."""
        if retry + 1 >= self.max_attempts or not is_retryable(exc):
            return None
        wait = self.rng.uniform(0.0, min(self.max_delay, self.base_delay * 2**retry))
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            if retry_after > self.max_delay:
                return None
            wait = max(wait, float(retry_after))
        if not self.budget.try_spend():
            return None
        return wait

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, repeated after a transient :class:`GatewayError` as the policy allows; the last error
        is raised."""
        self.budget.record_call()
        retry = 0
        while True:
            self.upstream_attempts += 1
            try:
                return await call()
            except GatewayError as exc:
                wait = self.delay(retry, exc)
                if wait is None:
                    raise
                retry += 1
                await self.sleep(wait)


class Retry(RetryPolicy, WrapperModel):
    """Repeats a call that failed transiently, with jittered backoff, within a retry budget (see the module)."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        max_attempts: int = 3,
        base_delay: float = 0.25,
        max_delay: float = 8.0,
        budget_ratio: float = 0.2,
        budget_window: float = 60.0,
        budget_min: int = 10,
        budget: RetryBudget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        WrapperModel.__init__(self, inner)
        RetryPolicy.__init__(
            self,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            budget_ratio=budget_ratio,
            budget_window=budget_window,
            budget_min=budget_min,
            budget=budget,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.budget.record_call()
        failed: list[Attempt] = []
        retry = 0
        while True:
            started = self.clock()
            self.upstream_attempts += 1
            try:
                response = await self.inner.chat(request)
            except GatewayError as exc:
                wait = self.delay(retry, exc)
                if wait is None:
                    raise
                failed.append(Attempt(self.name, f"{type(exc).__name__}: {exc}", (self.clock() - started) * 1000))
                retry += 1
                await self.sleep(wait)
                continue
            if not failed:
                return response
            ok = response.attempts or (Attempt(response.model or self.name, None, response.latency_ms),)
            return response.replace(attempts=tuple(failed) + ok)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.budget.record_call()
        retry = 0
        while True:
            self.upstream_attempts += 1
            stream = self.inner.stream(request)
            try:
                first = await open_stream(stream)
            except GatewayError as exc:
                wait = self.delay(retry, exc)
                if wait is None:
                    raise
                retry += 1
                await self.sleep(wait)
                continue
            break
        relayed = relay(first, stream, provider=self.name)
        try:
            async for chunk in relayed:
                yield chunk
        finally:
            await relayed.aclose()
