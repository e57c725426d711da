"""Retry: only transient errors, full-jitter backoff, Retry-After, the retry budget, streams before first chunk."""

from __future__ import annotations

import random

import pytest
from policy_helpers import ManualClock, request

from ragwright.errors import (
    CircuitOpen,
    ContextLengthExceeded,
    ProviderHTTPError,
    ProviderTimeout,
    RateLimited,
    StreamInterrupted,
)
from ragwright.gateway import collect
from ragwright.gateway.policies.retry import Retry, RetryBudget
from ragwright.testing import FakeChatModel, Reply

SETTINGS = dict(max_attempts=3, base_delay=0.25, max_delay=8.0, budget_ratio=0.2, budget_window=60.0, budget_min=10)


def retry(fake: FakeChatModel, clock: ManualClock, **kw: object) -> Retry:
    opts = {**SETTINGS, **kw}
    return Retry(fake, clock=clock, sleep=clock.sleep, rng=random.Random(7), **opts)  # type: ignore[arg-type]


async def test_transient_errors_are_retried_and_attempts_recorded(clock: ManualClock) -> None:
    fake = FakeChatModel(
        [ProviderHTTPError(503, provider="fake:a"), ProviderTimeout("total", 1.0), "ok"], name="fake:a"
    )
    reply = await retry(fake, clock).chat(request())
    assert reply.text == "ok" and fake.calls == 3
    assert [a.error is None for a in reply.attempts] == [False, False, True]
    assert "503" in (reply.attempts[0].error or "")
    # full jitter: each wait lies in [0, base * 2**n]
    assert len(clock.slept) == 2 and 0 <= clock.slept[0] <= 0.25 and 0 <= clock.slept[1] <= 0.5


@pytest.mark.parametrize(
    "error",
    [
        ProviderHTTPError(400),
        ContextLengthExceeded("too long"),
        CircuitOpen("fake:a", retry_after=3),
        RateLimited("key:k rpm"),
    ],
)
async def test_non_transient_and_policy_errors_are_not_retried(clock: ManualClock, error: Exception) -> None:
    fake = FakeChatModel([error, "never"])
    with pytest.raises(type(error)):
        await retry(fake, clock).chat(request())
    assert fake.calls == 1 and clock.slept == []


async def test_gives_up_after_max_attempts(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(502)] * 3)
    with pytest.raises(ProviderHTTPError):
        await retry(fake, clock).chat(request())
    assert fake.calls == 3


async def test_retry_after_is_a_minimum_and_too_long_a_wait_gives_up(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(429, retry_after=2.0), "ok"])
    assert (await retry(fake, clock).chat(request())).text == "ok"
    assert clock.slept == [2.0]
    fake = FakeChatModel([ProviderHTTPError(429, retry_after=30.0), "never"])
    with pytest.raises(ProviderHTTPError):
        await retry(fake, clock).chat(request())
    assert fake.calls == 1


async def test_backoff_grows_and_is_capped(clock: ManualClock) -> None:
    model = retry(FakeChatModel([]), clock, max_attempts=10, base_delay=1.0, max_delay=4.0, budget_min=1000)
    rng_ceilings = [min(4.0, 2.0**n) for n in range(8)]
    waits = [model.delay(n, ProviderHTTPError(500)) for n in range(8)]
    assert all(w is not None and 0 <= w <= c for w, c in zip(waits, rng_ceilings, strict=True))
    assert max(w for w in waits if w is not None) > 1.0  # not stuck at the base


async def test_budget_caps_retries_during_an_outage(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503)], cycle=True)
    model = retry(fake, clock)
    for _ in range(1000):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
        clock.advance(0.01)  # 1,000 calls over 10 s: all inside the 60 s window
    retries = fake.calls - 1000
    assert retries <= 10 + 0.2 * 1000
    assert retries >= 0.2 * 1000 - 5  # the budget is used, not just refused
    assert model.budget.retries_refused > 0


async def test_shared_budget_bounds_two_layers_together(clock: ManualClock) -> None:
    budget = RetryBudget(ratio=0.1, window=60.0, min_retries=0, clock=clock)
    a = FakeChatModel([ProviderHTTPError(503)], cycle=True)
    b = FakeChatModel([ProviderHTTPError(503)], cycle=True)
    ra, rb = retry(a, clock, budget=budget), retry(b, clock, budget=budget)
    for _ in range(100):
        for model in (ra, rb):
            with pytest.raises(ProviderHTTPError):
                await model.chat(request())
    assert (a.calls + b.calls) - 200 <= 0.1 * 200


async def test_budget_window_slides(clock: ManualClock) -> None:
    budget = RetryBudget(ratio=0.0, window=10.0, min_retries=2, clock=clock)
    assert budget.try_spend() and budget.try_spend() and not budget.try_spend()
    clock.advance(11.0)
    assert budget.try_spend()


async def test_stream_retried_before_first_chunk_only(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503), "a b c"])
    assert (await collect(retry(fake, clock).stream(request()))).text == "a b c"
    assert fake.calls == 2
    fake = FakeChatModel([Reply("a b c", cut_after=1), "never"])
    with pytest.raises(StreamInterrupted):
        await collect(retry(fake, clock).stream(request()))
    assert fake.calls == 1
