"""The moving window in Redis (sharedstate.window) against a real redis-server: exact counts under concurrent load
from several processes, all-or-nothing over several limits, refusals that take nothing, and failing closed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import pytest

from ragwright.config import RedisSettings
from ragwright.errors import SharedStateUnavailable
from ragwright.service.ratelimit import RateLimiter
from ragwright.sharedstate.client import SharedRedis
from ragwright.sharedstate.window import Charge, RedisWindows
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT


def _redis(settings: RedisSettings) -> SharedRedis:
    redis = SharedRedis.from_settings(settings)
    assert redis is not None
    return redis


_CLIENT = """
import asyncio, sys
from ragwright.sharedstate.client import SharedRedis
from ragwright.service.ratelimit import RateLimiter

async def main():
    redis = SharedRedis(sys.argv[1], prefix=sys.argv[2], timeout=float(sys.argv[5]))
    limiter = RateLimiter(int(sys.argv[3]), "redis", redis=redis)
    waits = await asyncio.gather(*(limiter.retry_after("k1") for _ in range(int(sys.argv[4]))))
    await redis.aclose()
    print(sum(w is None for w in waits))

asyncio.run(main())
"""


def test_an_rpm_limit_lets_exactly_n_through_from_several_processes(redis_settings: RedisSettings) -> None:
    n, processes, each = 25, 4, 20  # 80 concurrent requests from 4 processes (20 at once in each) for 25 slots
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [redis_settings.url or "", redis_settings.prefix, str(n), str(each), str(redis_settings.timeout)]
    procs = [
        subprocess.Popen([sys.executable, "-c", _CLIENT, *args], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(processes)
    ]
    allowed = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(allowed) == n


async def test_refused_requests_take_nothing_and_say_when(redis_settings: RedisSettings) -> None:
    redis = _redis(redis_settings)
    limiter = RateLimiter(3, "redis", redis=redis)
    assert [await limiter.retry_after("a") for _ in range(3)] == [None, None, None]
    waits = [await limiter.retry_after("a") for _ in range(5)]  # five refusals must not push the window out
    assert all(w is not None and 55 < w <= 60 for w in waits)
    assert await limiter.retry_after("b") is None  # another key has its own window
    other = RateLimiter(3, "redis", redis=redis, namespace="mcp")
    assert await other.retry_after("a") is None  # and another front door its own namespace
    await redis.aclose()


async def test_several_limits_are_taken_all_or_nothing(redis_settings: RedisSettings) -> None:
    redis = _redis(redis_settings)
    windows = RedisWindows(redis, "gw")
    rpm, tpm = Charge("key:a rpm", 10), Charge("tenant:t tpm", 1000, cost=600)
    assert await windows.take([rpm, tpm]) is None
    refused = await windows.take([rpm, tpm])  # 600 + 600 > 1000: the tenant's tokens refuse
    assert refused is not None and refused.charge == tpm and refused.retry_after is not None
    # the refused call took no request from the key's rpm: 9 more fit
    assert [await windows.take([rpm]) for _ in range(9)] == [None] * 9
    assert await windows.take([rpm]) is not None
    never = await windows.take([Charge("tenant:t2 tpm", 100, cost=101)])
    assert never is not None and never.retry_after is None  # can never fit
    await redis.aclose()


async def test_a_window_frees_its_slots_only_once_it_has_passed(redis_settings: RedisSettings) -> None:
    redis = _redis(redis_settings)
    windows = RedisWindows(redis, "short")
    charge = Charge("key:a rpm", 2, seconds=0.4)
    start = time.monotonic()
    assert await windows.take([charge]) is None and await windows.take([charge]) is None
    refused = await windows.take([charge])
    assert refused is not None and refused.retry_after is not None and refused.retry_after <= 0.4
    while await windows.take([charge]) is not None:
        assert time.monotonic() - start < 10
        await asyncio.sleep(0.02)
    assert time.monotonic() - start >= 0.35  # not before the oldest hit left the window (Redis's clock vs ours)
    await redis.aclose()


async def test_redis_going_away_fails_closed_and_coming_back_works(own_redis_server: RedisServer) -> None:
    redis = SharedRedis(own_redis_server.url, prefix="t" + uuid.uuid4().hex[:8], timeout=REDIS_TIMEOUT)
    limiter = RateLimiter(5, "redis", redis=redis)
    assert await limiter.retry_after("a") is None
    own_redis_server.stop()
    with pytest.raises(SharedStateUnavailable, match="did not answer") as caught:
        await limiter.retry_after("a")
    assert "127.0.0.1" in str(caught.value) and caught.value.retry_after > 0
    own_redis_server.start()
    allowed = None
    for _ in range(3):  # the pooled connection to the old server fails once, then a new one is made
        try:
            allowed = await limiter.retry_after("a")
            break
        except SharedStateUnavailable:
            continue
    assert allowed is None
    await redis.aclose()


def test_a_redis_storage_without_a_url_is_a_config_error() -> None:
    from ragwright.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[redis\] url"):
        RateLimiter(5, "redis")
