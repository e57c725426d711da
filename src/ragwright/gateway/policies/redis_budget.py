"""Budgets in Redis: the :class:`~ragwright.gateway.policies.budget.BudgetStore` every replica shares.

Each account (``tenant:acme@2026-11-22``) is a hash ``<prefix>:budget:<account>`` with ``spent`` and ``held`` USD.
:meth:`RedisBudgetStore.reserve` is one Lua script: it checks every account the call falls under and, only if all
have room for the call's worst case, adds it to each one's ``held``; so two replicas can never both take the last
dollar, and a call refused by the key's budget holds nothing of the tenant's. :meth:`settle` (also one script) moves
the reservation to ``spent`` at the real cost. Accounts expire 40 days after their last change (a month's period
plus margin), so Redis keeps only current periods.

Failure: a reservation that cannot reach Redis raises :class:`~ragwright.errors.SharedStateUnavailable` (the call is
refused, 503). A settlement that cannot reach it is logged as an error and the reservation stays held: the budget
counts the call's worst case instead of its real cost, which errs on the strict side.

Example::

    store = RedisBudgetStore(SharedRedis("redis://127.0.0.1:6379"))
    await store.reserve([("tenant:acme@2026-11-22", 5.0)], 0.02)      # None: reserved
    await store.settle(["tenant:acme@2026-11-22"], 0.02, 0.013)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ragwright.errors import SharedStateUnavailable
from ragwright.sharedstate.client import SharedRedis

__all__ = ["RedisBudgetStore"]

log = logging.getLogger(__name__)

ACCOUNT_TTL_SECONDS = 40 * 86400

_RESERVE = """
local amount, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'spent', 'held')
  local spent, held, limit = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(ARGV[i + 2])
  if spent + held + amount > limit + 1e-12 then
    return {i, tostring(math.max(0, limit - spent - held))}
  end
end
for _, k in ipairs(KEYS) do
  redis.call('HINCRBYFLOAT', k, 'held', ARGV[1])
  redis.call('EXPIRE', k, ttl)
end
return {0, '0'}
"""

_SETTLE = """
local reserved, ttl = tonumber(ARGV[1]), tonumber(ARGV[3])
for _, k in ipairs(KEYS) do
  redis.call('HINCRBYFLOAT', k, 'spent', ARGV[2])
  local held = tonumber(redis.call('HINCRBYFLOAT', k, 'held', -reserved))
  if held < 1e-12 then redis.call('HSET', k, 'held', 0) end
  redis.call('EXPIRE', k, ttl)
end
return 0
"""


class RedisBudgetStore:
    """Spent and reserved USD per account in Redis, shared by every replica (see the module)."""

    def __init__(self, redis: SharedRedis) -> None:
        self.redis = redis

    def _key(self, account: str) -> str:
        return self.redis.key("budget", account)

    async def reserve(self, accounts: Sequence[tuple[str, float]], amount: float) -> tuple[str, float] | None:
        if not accounts:
            return None
        keys = [self._key(name) for name, _ in accounts]
        args = [repr(float(amount)), ACCOUNT_TTL_SECONDS, *(repr(float(limit)) for _, limit in accounts)]
        index, remaining = await self.redis.run("the budget", _RESERVE, keys, args)
        if int(index) == 0:
            return None
        return accounts[int(index) - 1][0], float(remaining)

    async def settle(self, accounts: Sequence[str], reserved: float, actual: float) -> None:
        if not accounts:
            return
        keys = [self._key(name) for name in accounts]
        try:
            await self.redis.run(
                "the budget", _SETTLE, keys, [repr(float(reserved)), repr(float(actual)), ACCOUNT_TTL_SECONDS]
            )
        except SharedStateUnavailable as exc:
            log.error("budget: %s; the reservation of $%.6f stays held on %s", exc, reserved, ", ".join(accounts))

    async def spent(self, account: str) -> float:
        async with self.redis.guard("the budget"):
            value = await self.redis.client().hget(self._key(account), "spent")
        return float(value) if value is not None else 0.0
