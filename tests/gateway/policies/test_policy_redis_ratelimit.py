"""The gateway's RateLimit over Redis against a real redis-server: exact across replicas under concurrent load, one
atomic take over every scope, the gateway choosing Redis when ``[redis] url`` is set, and failing closed."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from policy_helpers import NO_LIMITS, request

from ragwright.config import RedisSettings, load_settings
from ragwright.errors import RateLimited, SharedStateUnavailable
from ragwright.errors_http import http_error
from ragwright.gateway import ChatRequest, Message, RequestContext
from ragwright.gateway.build import Gateway
from ragwright.gateway.policies.ratelimit import RateLimit
from ragwright.sharedstate.client import SharedRedis
from ragwright.testing import FakeChatModel
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT

NONE = {**NO_LIMITS, "storage": "redis"}


def _redis(settings: RedisSettings) -> SharedRedis:
    redis = SharedRedis.from_settings(settings)
    assert redis is not None
    return redis


async def test_tenant_rpm_is_exact_across_three_replicas_under_concurrent_load(redis_settings: RedisSettings) -> None:
    redises = [_redis(redis_settings) for _ in range(3)]
    fakes = [FakeChatModel(["ok"], cycle=True, name="fake:m") for _ in redises]
    replicas = [RateLimit(f, **{**NONE, "per_tenant_rpm": 40}, redis=r) for f, r in zip(fakes, redises, strict=True)]  # type: ignore[arg-type]
    calls = [replicas[i % 3].chat(request(tenant="acme")) for i in range(150)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert [r for r in results if isinstance(r, BaseException) and not isinstance(r, RateLimited)] == []
    assert sum(f.calls for f in fakes) == 40 and len(refused) == 110
    assert refused[0].scope == "tenant:acme rpm" and refused[0].retry_after is not None
    assert 0 < refused[0].retry_after <= 60
    for redis in redises:
        await redis.aclose()


async def test_key_tpm_and_one_atomic_take_over_every_scope(redis_settings: RedisSettings) -> None:
    redis = _redis(redis_settings)
    fake = FakeChatModel(["ok"], cycle=True, name="fake:m")
    model = RateLimit(fake, **{**NONE, "per_key_rpm": 2, "per_tenant_tpm": 100_000}, redis=redis)  # type: ignore[arg-type]
    await model.chat(request(key="k1"))
    await model.chat(request(key="k1"))
    with pytest.raises(RateLimited, match="key:k1 rpm"):
        await model.chat(request(key="k1"))
    tight = RateLimit(fake, **{**NONE, "per_key_tpm": 5000}, redis=redis)  # type: ignore[arg-type]
    req = request("one two three four five six", key="k2", max_tokens=100)
    results = await asyncio.gather(*(tight.chat(req) for _ in range(100)), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 5000 // tight.estimate_tokens(req)
    await redis.aclose()


async def test_the_gateway_keeps_limits_and_budgets_in_redis_when_a_url_is_set(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        redis=redis_settings.model_dump(),
        gateway={"chain": ["fake:a"], "ledger": False, "rate_limit": {"per_key_rpm": 2}, "cache": {"exact": False}},
    )
    replicas = [
        Gateway(settings, provider_factory=lambda spec: FakeChatModel(lambda r: "ok", name=spec)) for _ in range(2)
    ]
    ctx = RequestContext(tenant="acme", key_id="k1")
    req = ChatRequest(model="default", messages=(Message("user", "hello"),), context=ctx)
    await replicas[0].chat(req)
    await replicas[1].chat(req)
    with pytest.raises(RateLimited, match="key:k1"):  # two replicas, one limit
        await replicas[0].chat(req)
    for gw in replicas:
        await gw.aclose()


async def test_redis_gone_refuses_with_503_not_a_local_limit(own_redis_server: RedisServer) -> None:
    redis = SharedRedis(own_redis_server.url, prefix="t" + uuid.uuid4().hex[:8], timeout=REDIS_TIMEOUT)
    fake = FakeChatModel(["ok"], cycle=True, name="fake:m")
    model = RateLimit(fake, **{**NONE, "per_key_rpm": 100}, redis=redis)  # type: ignore[arg-type]
    await model.chat(request(key="k"))
    own_redis_server.stop()
    with pytest.raises(SharedStateUnavailable) as caught:
        await model.chat(request(key="k"))
    assert fake.calls == 1
    err = http_error(caught.value)
    assert (err.status, err.type, err.code) == (503, "unavailable", "shared_state_unavailable")
    assert err.headers() == {"Retry-After": "1"}
    await redis.aclose()
