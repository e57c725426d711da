"""Moving-window rate limits in Redis: every limit a request falls under checked and taken in one Lua script.

The window is exact, like :class:`ragwright.service.ratelimit.MemoryWindow`: each limit is a sorted set of the hits
of the last ``seconds`` (score: the time of the hit, member: ``<token>:<cost>``) plus the sum of their costs. One
script run, atomic in Redis, per request:

1. for each limit, drop the hits older than the window and read the sum;
2. if any limit cannot take this request's cost, take nothing and return which one and when it will have room;
3. else add the hit to every limit.

So N replicas share one count per key, tenant and model; a refused request takes nothing (the window is never
enforced early: exactly ``amount`` fit in any ``seconds``); time is Redis's own clock (``TIME``), so replicas' clocks
may disagree without opening or closing windows early. Each key expires one window after its last hit.

Example::

    windows = RedisWindows(SharedRedis("redis://127.0.0.1:6379"), "gw")
    refused = await windows.take([Charge("key:abc rpm", 60), Charge("tenant:acme tpm", 200_000, cost=900)])
    refused is None or refused.retry_after      # None: taken everywhere; else seconds until it fits (None: never)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ragwright.sharedstate.client import SharedRedis

__all__ = ["Charge", "RedisWindows", "Refusal"]

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local token = ARGV[1]
local n = tonumber(ARGV[2])
local function cost_of(member) return tonumber(string.match(member, ':(%d+)$')) end
for i = 1, n do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  local amount, cost, window = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  local cutoff = '(' .. (now - window)
  local total = tonumber(redis.call('GET', s) or '0')
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)
  if #gone > 0 then
    for _, m in ipairs(gone) do total = total - cost_of(m) end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff)
    if total <= 0 then total = 0; redis.call('DEL', s) else redis.call('SET', s, total, 'KEEPTTL') end
  end
  if total + cost > amount then
    if cost > amount then return {i, '-1'} end
    local need, freed = total + cost - amount, 0
    local hits = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
    for j = 1, #hits, 2 do
      freed = freed + cost_of(hits[j])
      if freed >= need then return {i, tostring(tonumber(hits[j + 1]) + window - now)} end
    end
    return {i, tostring(window)}
  end
end
for i = 1, n do
  local z, s = KEYS[2 * i - 1], KEYS[2 * i]
  local cost, ms = tonumber(ARGV[3 * i + 1]), math.ceil(tonumber(ARGV[3 * i + 2]) * 1000)
  redis.call('ZADD', z, now, token .. ':' .. cost)
  redis.call('INCRBY', s, cost)
  redis.call('PEXPIRE', z, ms)
  redis.call('PEXPIRE', s, ms)
end
return {0, '0'}
"""


@dataclass(frozen=True, slots=True)
class Charge:
    """One limit a request counts against: its name (``key:abc rpm``), what the window holds, what this takes."""

    name: str
    amount: int
    cost: int = 1
    seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """The limit that could not take a request, and seconds until it can (None: the cost exceeds the limit)."""

    charge: Charge
    retry_after: float | None


class RedisWindows:
    """Moving windows in Redis under ``<prefix>:rl:<namespace>:``, taken atomically per request (see the module)."""

    def __init__(self, redis: SharedRedis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    async def take(self, charges: Sequence[Charge]) -> Refusal | None:
        """Take every charge, or none: None when taken, else the first limit that refused."""
        if not charges:
            return None
        keys: list[str] = []
        args: list[str | int | float] = [uuid.uuid4().hex, len(charges)]
        for charge in charges:
            base = self.redis.key("rl", self.namespace, charge.name)
            keys += [base, base + ":sum"]
            args += [charge.amount, charge.cost, charge.seconds]
        index, wait = await self.redis.run("the rate limit", _TAKE, keys, args)
        if int(index) == 0:
            return None
        seconds = float(wait)
        return Refusal(charges[int(index) - 1], None if seconds < 0 else max(0.0, seconds))
