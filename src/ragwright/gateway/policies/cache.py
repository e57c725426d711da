"""Cache: answer a repeated request without calling the model, exactly or by meaning, within bounded memory.

- **Exact**: the key is a SHA-256 of the normalised request (messages with whitespace collapsed, tools, tool
  choice, response format, temperature, max_tokens, seed, stop) plus the tenant and the wrapped model's name.
- **Semantic** (needs an ``embedder``): the last user message is embedded and compared (cosine) with earlier ones
  *in the same scope*: same tenant, model, parameters and every other message (system prompt, retrieved context).
  A hit needs ``cosine >= semantic_threshold`` **and** passes a guard: the two questions must carry the same
  negations ("Is X supported?" vs "Is X not supported?") and the same numbers ("2 GB" vs "4 GB"); otherwise the
  cache refuses the hit and the model answers.
  The question is embedded once per request, in a worker thread (a real embedder takes milliseconds of CPU).
- Entries expire after ``ttl_seconds`` and at most ``max_entries`` are kept (least recently used go first), for
  both indexes, so memory is bounded. They live in a :class:`~ragwright.gateway.policies.cache_store.CacheStore`,
  per tenant: this process's memory by default, or Redis shared by every replica
  (:class:`~ragwright.gateway.policies.redis_cache.RedisCacheStore`, with ``[redis] url`` and ``redis.cache``).
- Hits return ``response.replace(cached=True, saved_usd=<original cost>, cost_usd=0.0)``.
- Streams: a hit is replayed as one chunk (``base.as_stream``); a miss is passed through and stored only if it
  completes (a final chunk with ``finish_reason``), never a cut one.

Decisions: requests with ``temperature > 0`` and no ``seed`` are not cached (the caller asked for variety);
``temperature`` None or 0, or a fixed ``seed``, are. Replies that end in ``content_filter`` or ``error`` are not
stored. Concurrent identical ``chat`` misses are coalesced: one reaches the model and the others share its reply
(as hits); if it fails, each tries on its own. Streams are not coalesced.

Example::

    model = Cache(inner, exact=True, semantic=True, semantic_threshold=0.95, ttl_seconds=3600, max_entries=10_000,
                  embedder=embedder)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.errors import ConfigError
from ragwright.gateway.base import ChatModel, WrapperModel, as_stream, collect
from ragwright.gateway.policies._shared import aclose
from ragwright.gateway.policies.cache_guard import same_meaning_markers
from ragwright.gateway.policies.cache_store import CacheStore, MemoryCacheStore, SemanticEntry
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message
from ragwright.models.base import Embedder

_STORABLE = ("stop", "length", "tool_calls")


def _norm(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _params(request: ChatRequest) -> dict[str, Any]:
    return {
        "tools": [asdict(t) for t in request.tools],
        "tool_choice": request.tool_choice,
        "response_format": None if request.response_format is None else asdict(request.response_format),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop),
        "top_logprobs": request.top_logprobs,
    }


def _message(m: Message) -> list[Any]:
    return [m.role, _norm(m.content), [asdict(c) for c in m.tool_calls], m.tool_call_id, m.name]


def _last_user(request: ChatRequest) -> int | None:
    for i in range(len(request.messages) - 1, -1, -1):
        if request.messages[i].role == "user" and request.messages[i].content:
            return i
    return None


def cacheable(request: ChatRequest) -> bool:
    """Deterministic enough to cache: temperature unset or 0, or a fixed seed."""
    return not request.temperature or request.seed is not None


@dataclass
class _Probe:
    tenant: str
    key: str
    question: str | None = None
    scope: str | None = None
    vector: npt.NDArray[np.float32] | None = None


class Cache(WrapperModel):
    """Answers a repeated request (exactly, or by meaning when enabled) from memory (see the module)."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        exact: bool = True,
        semantic: bool = False,
        semantic_threshold: float = 0.95,
        ttl_seconds: float = 3600.0,
        max_entries: int = 10_000,
        embedder: Embedder | None = None,
        prices: PriceTable | None = None,
        clock: Callable[[], float] = time.monotonic,
        store: CacheStore | None = None,
    ) -> None:
        super().__init__(inner)
        if semantic and embedder is None:
            raise ConfigError("gateway.cache.semantic needs an embedder")
        self.exact = exact
        self.semantic = semantic
        self.semantic_threshold = semantic_threshold
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.embedder = embedder
        self.prices = prices
        self.clock = clock
        self.store: CacheStore = (
            store
            if store is not None
            else MemoryCacheStore(ttl_seconds=ttl_seconds, max_entries=max_entries, clock=clock)
        )
        self.hits = 0
        self.semantic_hits = 0
        self.guard_refusals = 0
        self.misses = 0
        self.coalesced = 0
        self._inflight: dict[str, asyncio.Future[ChatResponse | None]] = {}  # exact key -> reply on its way

    def __len__(self) -> int:
        return len(self.store)

    def key(self, request: ChatRequest) -> str:
        return _digest(
            {
                "tenant": request.context.tenant,
                "model": self.name,
                "params": _params(request),
                "messages": [_message(m) for m in request.messages],
            }
        )

    def scope(self, request: ChatRequest, last: int) -> str:
        """Everything but the last user message: semantic hits are only looked for within one scope."""
        others = [_message(m) for i, m in enumerate(request.messages) if i != last]
        return _digest(
            {
                "tenant": request.context.tenant,
                "model": self.name,
                "params": _params(request),
                "messages": others,
                "position": last,
            }
        )

    async def _embed(self, text: str) -> npt.NDArray[np.float32]:
        assert self.embedder is not None
        # a real embedder takes milliseconds of CPU: keep it off the event loop
        vector: npt.NDArray[np.float32] = await asyncio.to_thread(self.embedder.embed_query, text)
        return vector

    def _probe(self, request: ChatRequest) -> _Probe | None:
        """What to look up and store ``request`` under; None when it must not be cached."""
        if not cacheable(request) or not (self.exact or self.semantic):
            return None
        probe = _Probe(request.context.tenant, self.key(request))
        if self.semantic and self.embedder is not None:
            last = _last_user(request)
            if last is not None:
                probe.question = request.messages[last].content or ""
                probe.scope = self.scope(request, last)
        return probe

    async def _semantic_lookup(self, probe: _Probe) -> ChatResponse | None:
        if probe.scope is None or probe.question is None:
            return None
        question = probe.question

        async def vector_of() -> npt.NDArray[np.float32]:
            if probe.vector is None:
                probe.vector = await self._embed(question)
            return probe.vector

        for key, other in await self.store.nearest(probe.tenant, probe.scope, vector_of, self.semantic_threshold):
            if not same_meaning_markers(question, other):
                self.guard_refusals += 1
                continue
            response = await self.store.get(probe.tenant, key)
            if response is not None:
                return response
        return None

    async def _find(self, probe: _Probe) -> ChatResponse | None:
        response = await self.store.get(probe.tenant, probe.key) if self.exact else None
        if response is None and self.semantic:
            response = await self._semantic_lookup(probe)
            if response is not None:
                self.semantic_hits += 1
        if response is None:
            self.misses += 1
            return None
        self.hits += 1
        return self._as_hit(response)

    def _as_hit(self, response: ChatResponse) -> ChatResponse:
        saved = response.cost_usd
        if saved is None and self.prices is not None:
            saved = self.prices.cost(response.model, response.usage)
        return response.replace(cached=True, saved_usd=saved or 0.0, cost_usd=0.0)

    async def _store(self, probe: _Probe, response: ChatResponse) -> None:
        if response.finish_reason not in _STORABLE or response.cached:
            return
        semantic = None
        if probe.scope is not None and probe.question is not None:
            if probe.vector is None:
                probe.vector = await self._embed(probe.question)
            semantic = SemanticEntry(probe.scope, probe.question, probe.vector)
        await self.store.put(probe.tenant, probe.key, response, semantic)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        probe = self._probe(request)
        if probe is None:
            return await self.inner.chat(request)
        hit = await self._find(probe)
        if hit is not None:
            return hit
        leader = self._inflight.get(probe.key) if self.exact else None
        if leader is not None:  # the same request is already on its way to the model: share its reply
            shared = await asyncio.shield(leader)
            if shared is not None and shared.finish_reason in _STORABLE:
                self.coalesced += 1
                return self._as_hit(shared)
            alone = await self.inner.chat(request)  # the leader failed: try on our own
            await self._store(probe, alone)
            return alone
        future: asyncio.Future[ChatResponse | None] = asyncio.get_running_loop().create_future()
        if self.exact:
            self._inflight[probe.key] = future
        response: ChatResponse | None = None
        try:
            response = await self.inner.chat(request)
            await self._store(probe, response)
            return response
        finally:
            future.set_result(response)
            if self._inflight.get(probe.key) is future:
                del self._inflight[probe.key]

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        probe = self._probe(request)
        hit = None if probe is None else await self._find(probe)
        if hit is not None:
            async for chunk in as_stream(hit):
                yield chunk
            return
        stream = self.inner.stream(request)
        seen: list[Chunk] = []
        try:
            async for chunk in stream:
                if probe is not None:
                    seen.append(chunk)
                yield chunk
        finally:
            await aclose(stream)
        if probe is not None and seen and seen[-1].finish_reason is not None:
            await self._store(probe, await collect(_replay(seen), model=self.name))


async def _replay(chunks: list[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk
