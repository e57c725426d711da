"""Assemble the gateway from `Settings`, in one place.

For every model name the gateway serves, the stack is::

    Traced ─> Ledgered ─> Router? ─> Cache ─> Budget ─> RateLimit
           ─> Fallback[ Retry(Traced(CircuitBreaker(Timeout(provider)))) ... ]

- A *name* is ``"default"`` (the configured ``gateway.chain``), an alias from ``gateway.aliases``, or a single
  ``provider:model`` spec (a chain of one).
- Per-provider layers (``Retry(CircuitBreaker(Timeout(provider)))``) are built once per spec and shared by every chain
  that names it, so a provider has one breaker, one retry layer and one retry budget however many aliases use it.
  Budgets are per provider on purpose: healthy traffic to one provider must not buy retries against another that is
  down.
- The outer layers (cache, budget, rate limit, ledger) are built once per name over shared state, so limits and
  budgets hold across names. With a ``[redis] url`` that state is in Redis, so they hold across replicas too
  (rate limits, budgets and, with ``redis.cache``, the cache; docs/scale-out.md).
- ``Traced`` layers are spans (:mod:`ragwright.observability.gateway_spans`): one per request, one per attempt at a
  provider; with tracing off each is one flag check.

Example::

    gw = Gateway(load_settings())
    reply = await gw.model("default").chat(ChatRequest(model="default", messages=(Message("user", "Hi"),)))
    await gw.aclose()
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from ragwright.config import Settings
from ragwright.errors import ConfigError, ProviderUnavailable, UnknownModel
from ragwright.gateway.base import ChatModel, ModelSource
from ragwright.gateway.ledger import UsageSink, UsageSinks
from ragwright.gateway.policies._shared import aclose
from ragwright.gateway.policies.budget import BudgetStore
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk
from ragwright.models.base import Embedder
from ragwright.observability.gateway_spans import TracedAttempt, TracedRequest
from ragwright.observability.tracing import hop
from ragwright.redact import quote_id

if TYPE_CHECKING:
    from ragwright.gateway.policies.breaker import CircuitBreaker
    from ragwright.gateway.policies.fallback import Fallback
    from ragwright.gateway.policies.retry import Retry
    from ragwright.sharedstate.client import SharedRedis

__all__ = ["DEFAULT_MODEL", "Gateway", "SyncGateway", "build_chat_model"]

DEFAULT_MODEL = "default"
ProviderFactory = Callable[[str], ChatModel]
T = TypeVar("T")


class Gateway:
    """Model names to fully wrapped :class:`ChatModel` s, built lazily and cached.

    ``provider_factory`` replaces the provider registry (tests pass scripted fakes); ``embedder`` enables the semantic
    cache; ``ledger=False`` turns off usage recording (the default follows ``gateway.ledger``); ``metrics`` receives
    every call's usage record too (``gateway serve``'s ``/metrics``), and reads the policies' state through
    :meth:`retries`, :meth:`breakers` and :meth:`fallbacks`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        provider_factory: ProviderFactory | None = None,
        embedder: Embedder | None = None,
        prices: PriceTable | None = None,
        ledger: bool | None = None,
        metrics: UsageSink | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.gateway
        self.prices = prices or PriceTable.load(self.config.prices_file)
        self._factory = provider_factory or self._registry_factory
        self._embedder = embedder
        self._use_ledger = self.config.ledger if ledger is None else ledger
        self._leaves: dict[str, ChatModel] = {}
        self._models: dict[str, ChatModel] = {}
        self._retries: dict[str, Retry] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._fallbacks: dict[str, Fallback] = {}
        self._metrics = metrics
        self._first_ratelimit: Any = None  # every later RateLimit shares its counters
        self._budget_store: Any = None  # one set of budget accounts for every name
        self._redis: Any = None  # the deployment's SharedRedis, made on first need
        self._ledger: Any = None

    # -- names ----------------------------------------------------------------------------------------------------

    def chain(self, name: str | None = None) -> list[str]:
        """The ``provider:model`` specs a name stands for, in fallback order."""
        name = name or DEFAULT_MODEL
        if name == DEFAULT_MODEL:
            specs = list(self.config.chain)
        elif name in self.config.aliases:
            specs = list(self.config.aliases[name])
        elif ":" in name:
            specs = [name]
        else:
            known = ", ".join([DEFAULT_MODEL, *self.config.aliases]) or DEFAULT_MODEL
            raise UnknownModel(
                f"unknown model {quote_id(name)}: use a provider:model spec or one of: {known}", name=name
            )
        if not specs:
            raise ConfigError(f"model {name!r} has an empty chain (gateway.chain / gateway.aliases)")
        return specs

    def models(self) -> list[str]:
        """Names the proxy lists: the default chain, the aliases, and every spec they use."""
        names = [DEFAULT_MODEL, *self.config.aliases]
        for specs in [self.config.chain, *self.config.aliases.values()]:
            names.extend(s for s in specs if s not in names)
        return names

    # -- assembly -------------------------------------------------------------------------------------------------

    def model(self, name: str | None = None) -> ChatModel:
        name = name or DEFAULT_MODEL
        if name not in self._models:
            self._models[name] = self._outer(name)
        return self._models[name]

    def _registry_factory(self, spec: str) -> ChatModel:
        from ragwright.gateway.registry import make_chat_model

        return make_chat_model(spec, self.config, prices=self.prices)

    def _leaf(self, spec: str) -> ChatModel:
        """``Retry(CircuitBreaker(Timeout(provider)))`` for one spec, built once."""
        if spec not in self._leaves:
            from ragwright.gateway.policies.breaker import CircuitBreaker
            from ragwright.gateway.policies.retry import Retry
            from ragwright.gateway.policies.timeout import Timeout

            cfg = self.config
            try:
                provider = self._factory(spec)
            except ConfigError as exc:
                if len(self.models_using(spec)) == 0:
                    raise
                provider = Unavailable(spec, str(exc))
            timed = Timeout(provider, **cfg.timeout.model_dump())
            guarded = self._breakers[spec] = CircuitBreaker(timed, **cfg.breaker.model_dump())
            self._leaves[spec] = self._retries[spec] = Retry(TracedAttempt(guarded, spec), **cfg.retry.model_dump())
        return self._leaves[spec]

    def retries(self) -> dict[str, Retry]:
        """The retry layer of each provider spec built so far (one per spec, shared by every chain)."""
        return dict(self._retries)

    def breakers(self) -> dict[str, CircuitBreaker]:
        """The circuit breaker of each provider spec built so far."""
        return dict(self._breakers)

    def fallbacks(self) -> dict[str, Fallback]:
        """The fallback layer of each chain of more than one model built so far, by model name."""
        return dict(self._fallbacks)

    def models_using(self, spec: str) -> list[str]:
        """Chains (default and aliases) that have another model to fall back to besides ``spec``."""
        chains = {DEFAULT_MODEL: self.config.chain, **self.config.aliases}
        return [name for name, specs in chains.items() if spec in specs and len(specs) > 1]

    def _chain_model(self, name: str) -> ChatModel:
        from ragwright.gateway.policies.fallback import Fallback

        leaves = [self._leaf(spec) for spec in self.chain(name)]
        if len(leaves) == 1:
            return leaves[0]
        chain = self._fallbacks[name] = Fallback(leaves)
        return chain

    def _outer(self, name: str) -> ChatModel:
        from ragwright.gateway.policies.budget import Budget
        from ragwright.gateway.policies.cache import Cache
        from ragwright.gateway.policies.ratelimit import RateLimit

        cfg = self.config
        inner: ChatModel
        if name == DEFAULT_MODEL and cfg.router.enabled:
            from ragwright.gateway.policies.router import Router

            if not (cfg.router.cheap and cfg.router.strong):
                raise ConfigError("gateway.router.enabled needs both router.cheap and router.strong model names")
            inner = Router(
                self._chain_model(cfg.router.cheap),
                self._chain_model(cfg.router.strong),
                threshold=cfg.router.threshold,
            )
        else:
            inner = self._chain_model(name)
        if any(v is not None for k, v in cfg.rate_limit.model_dump().items() if k != "storage"):
            limits = cfg.rate_limit.model_dump()
            if self._first_ratelimit is None:
                from ragwright.sharedstate.client import limit_storage

                explicit = "storage" in cfg.rate_limit.model_fields_set
                limits["storage"] = limit_storage(
                    cfg.rate_limit.storage, explicit=explicit, redis=self.redis, what="gateway.rate_limit.storage"
                )
            inner = RateLimit(inner, **limits, share_with=self._first_ratelimit, redis=self.redis)
            self._first_ratelimit = self._first_ratelimit or inner
        if cfg.budget.tenant_usd is not None or cfg.budget.key_usd is not None:
            if self._budget_store is None and self.redis is not None:
                from ragwright.gateway.policies.redis_budget import RedisBudgetStore

                self._budget_store = RedisBudgetStore(self.redis)
            elif self._budget_store is None:
                from ragwright.gateway.policies.budget import InMemoryBudgetStore

                self._budget_store = InMemoryBudgetStore()
            inner = Budget(inner, **cfg.budget.model_dump(), prices=self.prices, store=self._budget_store)
        if cfg.cache.exact or cfg.cache.semantic:
            if cfg.cache.semantic and self._embedder is None:
                from ragwright.models.registry import embedder_from_settings

                self._embedder = embedder_from_settings(self.settings.embedding, cfg)
            store = None
            if self.redis is not None and self.settings.redis.cache:  # one cache for every replica
                from ragwright.gateway.policies.redis_cache import RedisCacheStore

                store = RedisCacheStore(
                    self.redis, ttl_seconds=cfg.cache.ttl_seconds, max_entries=cfg.cache.max_entries
                )
            inner = Cache(inner, **cfg.cache.model_dump(), embedder=self._embedder, prices=self.prices, store=store)
        sinks = [s for s in (self.ledger if self._use_ledger else None, self._metrics) if s is not None]
        if sinks:
            from ragwright.gateway.policies.ledgered import Ledgered

            inner = Ledgered(inner, sinks[0] if len(sinks) == 1 else UsageSinks(sinks), requested=name)
        return TracedRequest(inner)

    @property
    def redis(self) -> SharedRedis | None:
        """The Redis this gateway shares limits, budgets and cache through (None: ``[redis] url`` is unset)."""
        if self._redis is None and self.settings.redis.url is not None:
            from ragwright.sharedstate.client import SharedRedis

            self._redis = SharedRedis.from_settings(self.settings.redis)
        return self._redis  # type: ignore[no-any-return]

    @property
    def budget_store(self) -> BudgetStore | None:
        """The budget accounts every model name shares (None until a budgeted model is built, or with no budget)."""
        return self._budget_store  # type: ignore[no-any-return]

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from ragwright.gateway.ledger import open_usage_ledger

            self._ledger = open_usage_ledger(self.settings)
        return self._ledger

    # -- calls ----------------------------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self.model(request.model).chat(request)

    async def aclose(self) -> None:
        """Close every provider built (each once: the outer policies hold no resources of their own, and a leaf is
        shared by every chain that names it), then flush and close the ledger."""
        for leaf in self._leaves.values():
            await leaf.aclose()
        self._leaves.clear()
        self._models.clear()
        if self._ledger is not None:
            await self._ledger.aclose()
            self._ledger = None
        if self._redis is not None:
            await self._redis.aclose()


class Unavailable:
    """Stands in for a provider that cannot be built here (e.g. its API key is not set), so that a chain such as
    ``["openai:gpt-4o-mini", "local:smollm2"]`` degrades to the next model instead of failing to start."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def chat(self, request: ChatRequest) -> ChatResponse:
        raise ProviderUnavailable(f"{self.name} unavailable: {self.reason}", provider=self.name)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        raise ProviderUnavailable(f"{self.name} unavailable: {self.reason}", provider=self.name)
        yield Chunk()  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        """Nothing to release."""


def build_chat_model(settings: Settings, name: str | None = None, **kwargs: Any) -> ChatModel:
    """One wrapped model by name (``"default"``, an alias or a ``provider:model`` spec) from a fresh gateway."""
    return Gateway(settings, **kwargs).model(name)


class SyncGateway:
    """The process's one gateway, run on its own event-loop thread, for every caller: synchronous ones (the CLI,
    the threaded ask pipeline) through :meth:`chat`, async ones on another loop (the HTTP service's chat
    completions) through :meth:`call` and :meth:`stream`. One loop means one HTTP connection pool, one set of
    breakers, budgets and rate limits, one loaded local generator, whoever calls.

    Example::

        sync = SyncGateway(Gateway(settings))
        reply = sync.chat(request)                                   # blocks this thread only
        reply = await sync.call(sync.gateway.model("default").chat(request))   # from another event loop
        sync.close()
    """

    def __init__(self, gateway: ModelSource) -> None:
        self.gateway = gateway
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ragwright-gateway", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the gateway's loop and wait for it (from any thread but the gateway's own)."""
        wrapped, back = hop(coro)  # the caller's trace context goes along; the hand-offs are spans
        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapped, self._loop)
        try:
            return future.result()
        finally:
            back()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the gateway's loop from another running loop; cancelling the caller cancels it there."""
        wrapped, back = hop(coro)
        try:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(wrapped, self._loop))
        finally:
            back()

    async def stream(self, model: ChatModel, request: ChatRequest) -> AsyncGenerator[Chunk, None]:
        """``model.stream(request)`` iterated on the gateway's loop, its chunks relayed to the caller's loop."""
        chunks = model.stream(request)

        async def step() -> Chunk | None:
            return await anext(chunks, None)

        try:
            while (chunk := await self.call(step())) is not None:
                yield chunk
        finally:
            await self.call(aclose(chunks))

    def chat(self, request: ChatRequest) -> ChatResponse:
        return self.run(self.gateway.model(request.model).chat(request))

    def relayed(self, name: str) -> ChatModel:
        """Model ``name`` for async code on another event loop (an eval judge): its calls and streams run here."""
        return _Relayed(self, self.gateway.model(name))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.run(self.gateway.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


class _Relayed:
    """A gateway model used from another event loop through :meth:`SyncGateway.relayed`. Closing it closes nothing:
    the gateway's owner closes the gateway."""

    def __init__(self, sync: SyncGateway, model: ChatModel) -> None:
        self._sync = sync
        self._model = model

    @property
    def name(self) -> str:
        return self._model.name

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self._sync.call(self._model.chat(request))

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        return self._sync.stream(self._model, request)

    async def aclose(self) -> None:
        """Nothing to release here (see the class docstring)."""
