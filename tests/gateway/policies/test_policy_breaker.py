"""CircuitBreaker: opens on a failure streak or error rate, one half-open probe, closes or reopens."""

from __future__ import annotations

import asyncio

import pytest
from policy_helpers import ManualClock, request

from ragwright.errors import CircuitOpen, ContextLengthExceeded, ProviderHTTPError, StreamInterrupted
from ragwright.gateway import collect
from ragwright.gateway.policies.breaker import CircuitBreaker
from ragwright.testing import FakeChatModel, Reply

SETTINGS = dict(consecutive_failures=3, error_rate=0.5, min_calls=10, window=30.0, cooldown=30.0)


def breaker(fake: FakeChatModel, clock: ManualClock, **kw: object) -> CircuitBreaker:
    return CircuitBreaker(fake, clock=clock, **{**SETTINGS, **kw})  # type: ignore[arg-type]


async def test_opens_after_consecutive_failures_and_stops_calling(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503)] * 3, name="fake:a")
    model = breaker(fake, clock)
    for _ in range(3):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
    assert model.state == "open"
    clock.advance(10)
    with pytest.raises(CircuitOpen) as err:
        await model.chat(request())
    assert err.value.provider == "fake:a" and err.value.retry_after == pytest.approx(20)
    assert fake.calls == 3  # the open breaker did not call the provider


async def test_probe_success_closes_and_probe_failure_reopens(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503)] * 3 + [ProviderHTTPError(500), "back"])
    model = breaker(fake, clock)
    for _ in range(3):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
    clock.advance(30)
    assert model.state == "half_open"
    with pytest.raises(ProviderHTTPError):
        await model.chat(request())  # the probe fails
    assert model.state == "open"
    with pytest.raises(CircuitOpen):
        await model.chat(request())
    clock.advance(30)
    assert (await model.chat(request())).text == "back"
    assert model.state == "closed" and model.times_opened == 2


async def test_half_open_lets_exactly_one_probe_through(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503)] * 3 + [Reply("probe", delay=0.02)])
    model = breaker(fake, clock)
    for _ in range(3):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
    clock.advance(31)
    results = await asyncio.gather(*(model.chat(request()) for _ in range(20)), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert sum(isinstance(r, CircuitOpen) for r in results) == 19
    assert fake.calls == 4 and model.state == "closed"


async def test_error_rate_over_the_window_opens(clock: ManualClock) -> None:
    script = ["ok", ProviderHTTPError(503)] * 5
    model = breaker(FakeChatModel(script), clock, consecutive_failures=100)
    for _ in range(9):
        try:
            await model.chat(request())
        except ProviderHTTPError:
            pass
    assert model.state == "closed"  # 9 calls < min_calls
    with pytest.raises(ProviderHTTPError):
        await model.chat(request())
    assert model.state == "open"


async def test_old_failures_leave_the_window(clock: ManualClock) -> None:
    script = [ProviderHTTPError(503)] * 5 + ["ok"] * 10
    model = breaker(FakeChatModel(script), clock, consecutive_failures=100, min_calls=6)
    for _ in range(5):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
    clock.advance(40)  # the failures are older than the window
    for _ in range(10):
        await model.chat(request())
    assert model.state == "closed"


async def test_request_errors_do_not_count(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(400), ContextLengthExceeded("long")] * 5)
    model = breaker(fake, clock)
    for _ in range(10):
        with pytest.raises((ProviderHTTPError, ContextLengthExceeded)):
            await model.chat(request())
    assert model.state == "closed"


async def test_streams_count_and_cuts_count_as_failures(clock: ManualClock) -> None:
    fake = FakeChatModel([Reply("a b c", cut_after=1)] * 3)
    model = breaker(fake, clock)
    for _ in range(3):
        with pytest.raises(StreamInterrupted):
            await collect(model.stream(request()))
    assert model.state == "open"
    with pytest.raises(CircuitOpen):
        await collect(model.stream(request()))
    clock.advance(30)
    model.inner = FakeChatModel(["fine now"])
    assert (await collect(model.stream(request()))).text == "fine now"
    assert model.state == "closed"


async def test_cancelled_probe_frees_the_slot(clock: ManualClock) -> None:
    fake = FakeChatModel([ProviderHTTPError(503)] * 3 + [Reply("slow", delay=5), "ok"])
    model = breaker(fake, clock)
    for _ in range(3):
        with pytest.raises(ProviderHTTPError):
            await model.chat(request())
    clock.advance(30)
    task = asyncio.create_task(model.chat(request()))
    while fake.calls < 4:  # until the probe is in flight
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await model.chat(request())).text == "ok"


async def test_untranslated_exceptions_count_as_failures(clock: ManualClock) -> None:
    def broken(req: object) -> str:
        raise RuntimeError("adapter bug")

    model = breaker(FakeChatModel(broken, name="fake:a"), clock)  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(RuntimeError):
            await model.chat(request())
    assert model.state == "open"
