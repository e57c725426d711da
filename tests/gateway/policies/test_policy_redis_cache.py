"""The gateway cache over Redis (RedisCacheStore) against a real redis-server: replies round-trip whole, a second
replica hits what the first stored (exactly and by meaning, with the guard), tenants never share entries, entries
expire, and a Redis that is gone is a miss, not an error."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from policy_helpers import request

from ragwright.config import RedisSettings
from ragwright.gateway import ChatResponse, Message
from ragwright.gateway.policies.cache import Cache
from ragwright.gateway.policies.redis_cache import RedisCacheStore, decode_response, encode_response
from ragwright.gateway.types import Attempt, TokenLogprob, ToolCall, Usage
from ragwright.sharedstate.client import SharedRedis
from ragwright.testing import FakeChatModel, FakeEmbedder
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT


def _redis(settings: RedisSettings) -> SharedRedis:
    redis = SharedRedis.from_settings(settings)
    assert redis is not None
    return redis


def _replica(settings: RedisSettings, ttl: float = 60.0, **kw: object) -> tuple[Cache, FakeChatModel]:
    fake = FakeChatModel(lambda r: f"answer to {r.messages[-1].content}", name="fake:m")
    store = RedisCacheStore(_redis(settings), ttl_seconds=ttl, max_entries=100)
    return Cache(fake, store=store, ttl_seconds=ttl, **kw), fake  # type: ignore[arg-type]


def test_a_reply_round_trips_whole() -> None:
    reply = ChatResponse(
        model="p:m",
        message=Message("assistant", "hi", (ToolCall("c1", "search", '{"q": 1}'),)),
        finish_reason="tool_calls",
        usage=Usage(10, 2, 5, 1, 3, 1),
        cost_usd=0.25,
        id="r1",
        attempts=(Attempt("p:a", "timeout", 12.5), Attempt("p:m")),
        latency_ms=40.0,
        logprobs=(TokenLogprob("hi", -0.1, (("hi", -0.1), ("yo", -2.0))),),
    )
    assert decode_response(encode_response(reply)) == reply


async def test_a_second_replica_hits_what_the_first_stored(redis_settings: RedisSettings) -> None:
    (a, _), (b, fake_b) = _replica(redis_settings), _replica(redis_settings)
    first = await a.chat(request("how do I rotate keys"))
    again = await b.chat(request("how do I rotate keys"))
    assert again.cached and again.text == first.text and fake_b.calls == 0
    assert not (await b.chat(request("how do I rotate keys", tenant="other"))).cached  # tenants never share


async def test_semantic_hits_cross_replicas_and_the_guard_still_refuses(redis_settings: RedisSettings) -> None:
    kw = dict(semantic=True, semantic_threshold=0.8, embedder=FakeEmbedder(256))
    (a, _), (b, fake_b) = _replica(redis_settings, **kw), _replica(redis_settings, **kw)
    await a.chat(request("How do webhooks work?"))
    hit = await b.chat(request("how do webhooks work"))
    assert hit.cached and b.semantic_hits == 1 and fake_b.calls == 0
    await a.chat(request("Is export supported?"))
    refused = await b.chat(request("Is export not supported?"))  # same words, opposite meaning
    assert not refused.cached and b.guard_refusals >= 1


async def test_entries_expire(redis_settings: RedisSettings) -> None:
    model, fake = _replica(redis_settings, ttl=0.3)
    start = time.monotonic()  # before the entry is written: it cannot expire earlier than start + ttl
    await model.chat(request("short lived"))
    while (await model.chat(request("short lived"))).cached:
        assert time.monotonic() - start < 10
        await asyncio.sleep(0.05)
    assert time.monotonic() - start >= 0.25  # not before its ttl (Redis's clock vs ours: a small margin)


async def test_redis_gone_is_a_miss_not_an_error(
    own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis = SharedRedis(own_redis_server.url, prefix="t" + uuid.uuid4().hex[:8], timeout=REDIS_TIMEOUT)
    fake = FakeChatModel(lambda r: "fresh", name="fake:m")
    model = Cache(fake, store=RedisCacheStore(redis, ttl_seconds=60, max_entries=10))
    await model.chat(request("q"))
    own_redis_server.stop()
    assert not (await model.chat(request("q"))).cached and fake.calls == 2
    assert "cache lookup skipped" in caplog.text
