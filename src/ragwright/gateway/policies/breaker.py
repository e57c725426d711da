"""CircuitBreaker: stop calling a provider+model that is down, and find out cheaply when it is back.

Wrap each provider model in its own breaker (one breaker per ``provider:model``).

- **closed**: calls pass. It opens after ``consecutive_failures`` failures in a row, or when at least ``min_calls``
  calls in the last ``window`` seconds include an ``error_rate`` share of failures.
- **open**: calls raise :class:`~ragwright.errors.CircuitOpen` (with ``retry_after``) without reaching the
  provider, for ``cooldown`` seconds.
- **half-open**: after the cooldown exactly one probe call goes through; concurrent callers still get
  ``CircuitOpen``. The probe's success closes the breaker, its failure reopens it for another cooldown.

Only signs that the provider is unwell count as failures: transient errors (5xx, 429, timeouts, connection and
protocol errors), streams cut mid-answer, and any exception that is not a ``GatewayError``. A 400, a
context-length error or a content filter means the provider answered, so they count as successes.

Example::

    model = CircuitBreaker(Timeout(provider, ...), consecutive_failures=5, error_rate=0.5, min_calls=20,
                           window=30, cooldown=30)
    model.state  # 'closed', 'open' or 'half_open'
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Literal

from ragwright.errors import CircuitOpen, GatewayError, StreamInterrupted
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import open_stream, relay
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk

State = Literal["closed", "open", "half_open"]
_BUCKETS = 10


def counts_as_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the provider is unwell (rather than the request being wrong)."""
    if isinstance(exc, CircuitOpen):
        return False
    if not isinstance(exc, GatewayError):
        return True  # an adapter let a raw error through: treat the provider as unwell rather than guess
    return isinstance(exc, StreamInterrupted) or exc.transient


class CircuitBreaker(WrapperModel):
    """Stops calling a provider that keeps failing, and probes it once per cooldown (see the module)."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        consecutive_failures: int = 5,
        error_rate: float = 0.5,
        min_calls: int = 20,
        window: float = 30.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(inner)
        self.consecutive_failures = consecutive_failures
        self.error_rate = error_rate
        self.min_calls = min_calls
        self.window = window
        self.cooldown = cooldown
        self.clock = clock
        self._state: State = "closed"
        self._opened_at = 0.0
        self._probing = False
        self._streak = 0
        self._width = window / _BUCKETS
        self._buckets: deque[list[int]] = deque()  # [bucket index, calls, failures]
        self.times_opened = 0

    @property
    def state(self) -> State:
        if self._state == "open" and self.clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return self._state

    def _admit(self) -> bool:
        """Let a call through or raise CircuitOpen. Returns True when the call is the half-open probe."""
        if self._state == "closed":
            return False
        now = self.clock()
        if self._state == "open":
            left = self.cooldown - (now - self._opened_at)
            if left > 0:
                raise CircuitOpen(self.name, retry_after=left)
            self._state = "half_open"
        if self._probing:
            raise CircuitOpen(self.name, retry_after=min(self.cooldown, 1.0))
        self._probing = True
        return True

    def _record(self, *, failed: bool, probe: bool) -> None:
        now = self.clock()
        if probe:
            self._probing = False
            if failed:
                self._open(now)
            else:
                self._state = "closed"
                self._streak = 0
                self._buckets.clear()
            return
        if self._state != "closed":
            return  # a call admitted before the breaker opened finished late: the probe decides
        index = int(now / self._width)
        while self._buckets and self._buckets[0][0] <= index - _BUCKETS:
            self._buckets.popleft()
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        self._buckets[-1][1] += 1
        if not failed:
            self._streak = 0
            return
        self._buckets[-1][2] += 1
        self._streak += 1
        calls = sum(b[1] for b in self._buckets)
        failures = sum(b[2] for b in self._buckets)
        if self._streak >= self.consecutive_failures or (
            calls >= self.min_calls and failures >= self.error_rate * calls
        ):
            self._open(now)

    def _open(self, now: float) -> None:
        self._state = "open"
        self._opened_at = now
        self._streak = 0
        self._buckets.clear()
        self.times_opened += 1

    def _abandon(self, probe: bool) -> None:
        """A call was cancelled: free the probe slot so the next caller can probe."""
        if probe:
            self._probing = False

    async def chat(self, request: ChatRequest) -> ChatResponse:
        probe = self._admit()
        try:
            response = await self.inner.chat(request)
        except BaseException as exc:
            if isinstance(exc, Exception):
                self._record(failed=counts_as_failure(exc), probe=probe)
            else:
                self._abandon(probe)
            raise
        self._record(failed=False, probe=probe)
        return response

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        probe = self._admit()
        outcome: bool | None = None  # True failed, False succeeded, None unknown (cancelled)
        try:
            stream = self.inner.stream(request)
            try:
                first = await open_stream(stream)
            except Exception as exc:
                outcome = counts_as_failure(exc)
                raise
            relayed = relay(first, stream, provider=self.name)
            try:
                async for chunk in relayed:
                    yield chunk
                outcome = False
            except Exception as exc:
                outcome = counts_as_failure(exc)
                raise
            finally:
                await relayed.aclose()
        finally:
            if outcome is None:
                # the consumer stopped early (it had content, so the provider answered) or the call was cancelled
                self._abandon(probe)
            else:
                self._record(failed=outcome, probe=probe)
