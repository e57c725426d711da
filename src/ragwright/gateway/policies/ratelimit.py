"""RateLimit: requests and tokens per minute per API key, per tenant and per model, with the ``limits`` library.

Scopes come from the request: ``request.context.key_id`` (skipped when None), ``request.context.tenant``, and the
wrapped model's ``name``. Each call takes 1 request and its *estimated* tokens from every limit that applies
(estimate: prompt tokens, see ``_shared.estimate_input_tokens``, plus ``max_tokens`` or a default cap), before the
call. Tokens are reserved, not refunded: the sliding-window counters cannot give back, so a limit errs strict.

All scopes are checked and then taken under one lock, so a call refused by one scope takes nothing from the others
and concurrent calls cannot overshoot in this process. With ``storage="memory://"`` the counters live in a ``limits``
async memory storage (the sliding window counter: two counters per limit, so memory does not grow with traffic).
With ``storage="redis"`` (the gateway's ``[redis] url``, given as ``redis``) or a ``redis://`` URI they are shared by
every replica: each call checks and takes every limit in one atomic Lua script, over an exact moving window
(:mod:`ragwright.sharedstate.window`), and Redis not answering refuses the call
(:class:`~ragwright.errors.SharedStateUnavailable`) instead of counting it locally.

Over a limit: :class:`~ragwright.errors.RateLimited` with ``scope`` (e.g. ``'tenant:acme rpm'``) and ``retry_after``.

Example::

    model = RateLimit(inner, per_key_rpm=60, per_key_tpm=None, per_tenant_rpm=600, per_tenant_tpm=200_000,
                      per_model_rpm=None, per_model_tpm=None, storage="memory://")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import StorageTypes, storage_from_string

from ragwright.errors import ConfigError, RateLimited
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import DEFAULT_MAX_TOKENS, aclose, estimate_input_tokens, max_output_tokens
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk
from ragwright.sharedstate.client import REDIS_STORAGE, SharedRedis
from ragwright.sharedstate.window import Charge, RedisWindows

_NAMESPACE = "ragwright-gw"


def _item(per_minute: int | None) -> RateLimitItem | None:
    return None if per_minute is None else RateLimitItemPerMinute(per_minute, namespace=_NAMESPACE)


class RateLimit(WrapperModel):
    """Requests and tokens per minute per key, tenant and model; over the limit raises RateLimited."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        per_key_rpm: int | None = None,
        per_key_tpm: int | None = None,
        per_tenant_rpm: int | None = None,
        per_tenant_tpm: int | None = None,
        per_model_rpm: int | None = None,
        per_model_tpm: int | None = None,
        storage: str = "memory://",
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        share_with: RateLimit | None = None,
        redis: SharedRedis | None = None,
    ) -> None:
        super().__init__(inner)
        self.storage: StorageTypes | None = None
        self.limiter: SlidingWindowCounterRateLimiter | None = None
        self.windows: RedisWindows | None = None
        self._lock: asyncio.Lock
        if share_with is not None:  # one set of counters for every model name a gateway serves
            self.storage, self.limiter, self.windows = share_with.storage, share_with.limiter, share_with.windows
        elif storage == REDIS_STORAGE or storage.startswith(("redis://", "rediss://", "unix://")):
            if storage != REDIS_STORAGE:
                redis = SharedRedis(storage, prefix=redis.prefix if redis else "rw")
            if redis is None:
                raise ConfigError("gateway.rate_limit.storage 'redis' needs [redis] url")
            self.windows = RedisWindows(redis, "gw")
        else:
            uri = storage if storage.startswith("async+") else f"async+{storage}"
            self.storage = storage_from_string(uri)
            self.limiter = SlidingWindowCounterRateLimiter(self.storage)
        self.limits: dict[str, tuple[RateLimitItem | None, RateLimitItem | None]] = {
            "key": (_item(per_key_rpm), _item(per_key_tpm)),
            "tenant": (_item(per_tenant_rpm), _item(per_tenant_tpm)),
            "model": (_item(per_model_rpm), _item(per_model_tpm)),
        }
        self.enabled = any(item is not None for pair in self.limits.values() for item in pair)
        self.default_max_tokens = default_max_tokens
        self._lock = share_with._lock if share_with is not None else asyncio.Lock()

    def estimate_tokens(self, request: ChatRequest) -> int:
        return estimate_input_tokens(request) + max_output_tokens(request, self.default_max_tokens)

    def _charges(self, request: ChatRequest) -> list[tuple[RateLimitItem, str, str, int]]:
        """(limit, identifier, scope label, cost) for every limit this request falls under."""
        ids = {"key": request.context.key_id, "tenant": request.context.tenant, "model": self.name}
        tokens = self.estimate_tokens(request)
        charges: list[tuple[RateLimitItem, str, str, int]] = []
        for scope, (rpm, tpm) in self.limits.items():
            ident = ids[scope]
            if ident is None:
                continue
            if rpm is not None:
                charges.append((rpm, f"{scope}:{ident}", f"{scope}:{ident} rpm", 1))
            if tpm is not None:
                charges.append((tpm, f"{scope}:{ident}:tpm", f"{scope}:{ident} tpm", tokens))
        return charges

    async def acquire(self, request: ChatRequest) -> None:
        """Take this request's share of every limit, or raise RateLimited having taken nothing."""
        if not self.enabled:
            return
        charges = self._charges(request)
        if self.windows is not None:  # every replica's counts, checked and taken in one step in Redis
            # named by label ('model:openai:gpt-4o tpm'): unlike the ident, it cannot name another limit's window
            refused = await self.windows.take([Charge(label, item.amount, cost) for item, _, label, cost in charges])
            if refused is not None:
                raise RateLimited(refused.charge.name, retry_after=refused.retry_after, provider=self.name)
            return
        assert self.limiter is not None
        async with self._lock:
            for item, ident, label, cost in charges if len(charges) > 1 else ():  # one hit alone needs no test
                if not await self.limiter.test(item, ident, cost=cost):
                    raise RateLimited(label, retry_after=await self._retry_after(item, ident, cost), provider=self.name)
            for item, ident, label, cost in charges:
                if not await self.limiter.hit(item, ident, cost=cost):  # another replica took it meanwhile
                    raise RateLimited(label, retry_after=await self._retry_after(item, ident, cost), provider=self.name)

    async def _retry_after(self, item: RateLimitItem, ident: str, cost: int) -> float | None:
        if cost > item.amount:
            return None  # this request can never fit the limit
        assert self.limiter is not None
        stats = await self.limiter.get_window_stats(item, ident)
        return max(0.0, float(stats.reset_time) - time.time())

    async def chat(self, request: ChatRequest) -> ChatResponse:
        await self.acquire(request)
        return await self.inner.chat(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        await self.acquire(request)
        stream = self.inner.stream(request)
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await aclose(stream)
