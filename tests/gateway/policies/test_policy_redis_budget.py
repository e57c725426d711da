"""Budgets in Redis (RedisBudgetStore) against a real redis-server: the BudgetStore contract it shares with the
in-memory store, no overspend across replicas under 100 concurrent calls, and failing closed when Redis is gone."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from policy_helpers import request

from ragwright.config import RedisSettings
from ragwright.errors import BudgetExceeded, SharedStateUnavailable
from ragwright.gateway.policies.budget import Budget, BudgetStore, InMemoryBudgetStore
from ragwright.gateway.policies.redis_budget import RedisBudgetStore
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.sharedstate.client import SharedRedis
from ragwright.testing import FakeChatModel, Reply
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT

PRICES = PriceTable({"fake:m": Price(input=1.0, output=2.0)})
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()
TENANT = "tenant:default@2026-11-22"


def _redis(settings: RedisSettings) -> SharedRedis:
    redis = SharedRedis.from_settings(settings)
    assert redis is not None
    return redis


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_settings: RedisSettings) -> AsyncIterator[BudgetStore]:
    if request.param == "memory":
        yield InMemoryBudgetStore()
        return
    redis = _redis(redis_settings)
    yield RedisBudgetStore(redis)
    await redis.aclose()


async def test_budget_store_contract(store: BudgetStore) -> None:
    both = [("tenant:t@d", 1.0), ("key:k@d", 0.5)]
    assert await store.reserve(both, 0.3) is None
    assert await store.reserve(both, 0.3) == ("key:k@d", pytest.approx(0.2))  # the key's budget refuses...
    assert await store.reserve([("tenant:t@d", 1.0)], 0.75) == ("tenant:t@d", pytest.approx(0.7))  # ...took nothing
    await store.settle([a for a, _ in both], 0.3, 0.1)  # the call cost less than its worst case
    assert await store.spent("tenant:t@d") == pytest.approx(0.1) and await store.spent("key:k@d") == pytest.approx(0.1)
    assert await store.reserve(both, 0.4) is None  # 0.1 spent + 0.4 held fits the key's 0.5
    await store.settle([a for a, _ in both], 0.4, 0.0)  # a failed call releases its reservation
    assert await store.spent("key:k@d") == pytest.approx(0.1)
    assert await store.reserve([("key:k@d", 0.5)], 0.4) is None
    assert await store.spent("nobody@d") == 0.0


async def test_a_shared_budget_holds_across_replicas_under_100_concurrent_calls(redis_settings: RedisSettings) -> None:
    fake = FakeChatModel([Reply("an answer of several words", delay=0.001)], cycle=True, name="fake:m", prices=PRICES)
    req = request(max_tokens=50)
    probe = Budget(fake, tenant_usd=0.0, prices=PRICES, clock=lambda: NOON)
    worst = probe.worst_case(req)
    assert worst is not None
    limit = worst * 10.5
    redises = [_redis(redis_settings) for _ in range(3)]  # three replicas: three connections to one Redis
    replicas = [
        Budget(fake, tenant_usd=limit, prices=PRICES, clock=lambda: NOON, store=RedisBudgetStore(r)) for r in redises
    ]
    results = await asyncio.gather(*(replicas[i % 3].chat(req) for i in range(100)), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(ok) + len(refused) == 100 and refused
    spent = await replicas[1].store.spent(TENANT)
    assert spent == pytest.approx(sum(r.cost_usd or 0 for r in ok))
    assert spent <= limit + worst  # the bound; reservations make it hold with no overshoot at all
    assert spent <= limit + 1e-9
    assert len(ok) >= 10  # never fewer than the worst cases that fit
    for redis in redises:
        await redis.aclose()


async def test_redis_gone_refuses_the_call_and_a_lost_settlement_stays_held(
    own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis = SharedRedis(own_redis_server.url, prefix="t" + uuid.uuid4().hex[:8], timeout=REDIS_TIMEOUT)
    store = RedisBudgetStore(redis)
    fake = FakeChatModel(["fine"], cycle=True, name="fake:m", prices=PRICES)
    model = Budget(fake, tenant_usd=1.0, prices=PRICES, clock=lambda: NOON, store=store)
    await model.chat(request())
    own_redis_server.stop()
    with pytest.raises(SharedStateUnavailable, match="the budget"):
        await model.chat(request())
    assert fake.calls == 1  # refused before the model was called
    with caplog.at_level(logging.ERROR, logger="ragwright.gateway.policies.redis_budget"):
        await store.settle([TENANT], 0.5, 0.1)
    assert "stays held" in caplog.text
    await redis.aclose()
