"""Policies composed as the gateway uses them:

Router -> Cache -> Budget -> RateLimit -> Fallback[ Retry(CircuitBreaker(Timeout(provider))) ... ]
"""

from __future__ import annotations

import asyncio
import gc
import random
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from policy_helpers import ManualClock, request

from ragwright.config import GatewaySettings
from ragwright.errors import CircuitOpen, ProviderHTTPError, StreamInterrupted
from ragwright.gateway import ChatModel, ChatRequest, ChatResponse, Chunk, Message, Usage, collect
from ragwright.gateway.policies.breaker import CircuitBreaker
from ragwright.gateway.policies.budget import Budget
from ragwright.gateway.policies.cache import Cache
from ragwright.gateway.policies.fallback import Fallback
from ragwright.gateway.policies.ratelimit import RateLimit
from ragwright.gateway.policies.retry import Retry, RetryBudget
from ragwright.gateway.policies.router import Router
from ragwright.gateway.policies.timeout import Timeout
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.testing import FakeChatModel, FakeEmbedder, Reply

PRICES = PriceTable({"fake:a": Price(0.15, 0.6), "fake:b": Price(1.0, 4.0), "fake:c": Price(0.1, 0.2)})


def protected(provider: ChatModel, gw: GatewaySettings, clock: ManualClock, budget: RetryBudget) -> Retry:
    return Retry(
        CircuitBreaker(Timeout(provider, **gw.timeout.model_dump()), **gw.breaker.model_dump(), clock=clock),
        **gw.retry.model_dump(),
        budget=budget,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(1),
    )


def chain(models: list[ChatModel], gw: GatewaySettings, clock: ManualClock) -> tuple[Fallback, RetryBudget]:
    budget = RetryBudget(
        ratio=gw.retry.budget_ratio, window=gw.retry.budget_window, min_retries=gw.retry.budget_min, clock=clock
    )
    return Fallback([protected(m, gw, clock, budget) for m in models]), budget


def full_stack(models: list[ChatModel], gw: GatewaySettings, clock: ManualClock) -> ChatModel:
    def stack(fallback: Fallback) -> ChatModel:
        limited = RateLimit(fallback, **gw.rate_limit.model_dump())
        budgeted = Budget(limited, **gw.budget.model_dump(), prices=PRICES)
        return Cache(budgeted, **gw.cache.model_dump(), embedder=FakeEmbedder(64), prices=PRICES, clock=clock)

    cheap, _ = chain(models[1:], gw, clock)
    strong, _ = chain(models, gw, clock)
    return Router(stack(cheap), stack(strong), threshold=gw.router.threshold)


async def test_composed_chain_keeps_answering_while_a_fails_and_a_recovers(clock: ManualClock) -> None:
    gw = GatewaySettings()
    outage = {"on": True}

    def a_script(req: ChatRequest) -> object:
        return ProviderHTTPError(503, provider="fake:a") if outage["on"] else "from a"

    a = FakeChatModel(a_script, name="fake:a")  # type: ignore[arg-type]
    b = FakeChatModel(["from b"], cycle=True, name="fake:b")
    model, budget = chain([a, b], gw, clock)
    breaker = model.models[0].inner
    assert isinstance(breaker, CircuitBreaker)
    for _ in range(1000):
        reply = await model.chat(request())
        assert reply.text == "from b"
        clock.advance(0.01)
    # upstream attempts on the failing model stay within one try per call plus the retry budget
    assert a.calls <= 1000 + gw.retry.budget_min + gw.retry.budget_ratio * 1000
    # and the breaker spared it most of them
    assert breaker.state == "open" and a.calls < 50
    # a attempt path is visible: a failed (open breaker or 503), b answered
    assert [x.model for x in reply.attempts][-1] == "fake:b" and reply.attempts[0].error
    outage["on"] = False
    clock.advance(gw.breaker.cooldown)
    assert (await model.chat(request())).text == "from a"
    assert breaker.state == "closed"


async def test_outage_without_fallback_stays_within_retry_budget(clock: ManualClock) -> None:
    gw = GatewaySettings()
    gw.breaker.consecutive_failures = 10_000  # keep the breaker out of it: the retry budget alone must hold
    gw.breaker.min_calls = 10_000
    a = FakeChatModel([ProviderHTTPError(503)], cycle=True, name="fake:a")
    model, budget = chain([a], gw, clock)
    for _ in range(1000):
        with pytest.raises(Exception):  # noqa: B017 (AllProvidersFailed wrapping the 503)
            await model.chat(request())
        clock.advance(0.01)
    assert a.calls - 1000 <= gw.retry.budget_min + gw.retry.budget_ratio * 1000
    assert budget.retries_spent == a.calls - 1000


async def test_fallback_does_not_restart_retries(clock: ManualClock) -> None:
    gw = GatewaySettings()
    a = FakeChatModel([ProviderHTTPError(503)] * 3, name="fake:a")
    b = FakeChatModel([ProviderHTTPError(503)] * 3, name="fake:b")
    model, _ = chain([a, b], gw, clock)
    with pytest.raises(Exception):  # noqa: B017
        await model.chat(request())
    assert a.calls == gw.retry.max_attempts and b.calls == gw.retry.max_attempts


async def test_stream_cut_after_first_token_surfaces_through_every_policy(clock: ManualClock) -> None:
    gw = GatewaySettings()
    gw.budget.tenant_usd = 10.0
    gw.rate_limit.per_tenant_rpm = 1000
    a = FakeChatModel([Reply("partial answer that is cut", cut_after=2)], name="fake:a", prices=PRICES)
    b = FakeChatModel(["never"], cycle=True, name="fake:b", prices=PRICES)
    c = FakeChatModel(["never"], cycle=True, name="fake:c", prices=PRICES)
    model = full_stack([a, b, c], gw, clock)
    seen: list[str] = []
    hard = ChatRequest(model="rag", messages=(Message("user", "Why and how does this compare? And why not?"),))
    with pytest.raises(StreamInterrupted):
        async for chunk in model.stream(hard):
            seen.append(chunk.delta)
    assert seen == ["partial", " answer"] and b.calls == 0 and c.calls == 0
    # and it was not cached: the next call goes to the provider again
    a2 = FakeChatModel(["now complete"], name="fake:a", prices=PRICES)
    model = full_stack([a2, b, c], gw, clock)
    assert (await collect(model.stream(hard))).text == "now complete"


async def test_breaker_open_falls_back_without_calling_the_provider(clock: ManualClock) -> None:
    gw = GatewaySettings()
    a = FakeChatModel([ProviderHTTPError(500)], cycle=True, name="fake:a")
    b = FakeChatModel(["b"], cycle=True, name="fake:b")
    model, _ = chain([a, b], gw, clock)
    for _ in range(gw.breaker.consecutive_failures):
        await model.chat(request())
    before = a.calls
    reply = await model.chat(request())
    assert a.calls == before and CircuitOpen.__name__ in (reply.attempts[0].error or "")


class Echo:
    """A provider that keeps nothing per call (FakeChatModel records every request, which would grow)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def chat(self, request: ChatRequest) -> ChatResponse:
        await asyncio.sleep(0)  # a real provider awaits I/O, which lets the loop purge cancelled timers
        return ChatResponse(
            model=self.name, message=Message("assistant", "ok"), usage=Usage(10, 0, 2, 0), cost_usd=0.000001
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        await asyncio.sleep(0)
        yield Chunk(delta="ok", model=self.name)
        yield Chunk(finish_reason="stop", usage=Usage(10, 0, 2, 0), cost_usd=0.000001, model=self.name)


@pytest.mark.slow
async def test_memory_is_flat_over_10000_calls_through_the_full_stack(clock: ManualClock) -> None:
    gw = GatewaySettings()
    gw.cache.max_entries = 200
    gw.cache.semantic = False
    gw.budget.tenant_usd = 1000.0
    gw.rate_limit.per_tenant_rpm = 1_000_000
    gw.rate_limit.per_tenant_tpm = 10_000_000_000
    model = full_stack([Echo("fake:a"), Echo("fake:b")], gw, clock)

    async def run(start: int, n: int) -> None:
        for i in range(start, start + n):
            req = request(f"question number {i}", tenant=f"t{i % 5}")
            if i % 2:
                await model.chat(req)
            else:
                await collect(model.stream(req))
            clock.advance(0.001)

    await run(0, 300)  # warm up: caches and counters reach their bounds
    tracemalloc.start()
    try:
        await run(300, 1000)
        gc.collect()
        after_1k = tracemalloc.get_traced_memory()[0]
        await run(1300, 9000)
        gc.collect()
        after_10k = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_10k - after_1k < 256 * 1024, (after_1k, after_10k)


async def test_budget_and_rate_limit_hold_under_200_concurrent_calls_through_the_stack(clock: ManualClock) -> None:
    gw = GatewaySettings()
    gw.cache.exact = False
    gw.rate_limit.per_tenant_rpm = 120
    gw.budget.tenant_usd = 1.0
    a = FakeChatModel([Reply("fine", delay=0.001)], cycle=True, name="fake:a", prices=PRICES)
    model = RateLimit(
        Budget(chain([a], gw, clock)[0], **gw.budget.model_dump(), prices=PRICES), **gw.rate_limit.model_dump()
    )
    results = await asyncio.gather(*(model.chat(request(f"q {i}")) for i in range(200)), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 120 == a.calls
