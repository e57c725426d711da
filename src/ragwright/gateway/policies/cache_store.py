"""Where the gateway's cache keeps replies: the :class:`CacheStore` seam and its in-process implementation.

A store holds, per tenant, exact entries (a request's digest -> its reply, each expiring after the TTL) and, per
*scope* (everything in a request but its last question), the questions those replies answered with their embeddings,
so that :class:`~ragwright.gateway.policies.cache.Cache` can look for a question that means the same. The cache
policy decides what to store and applies the meaning guard; a store only keeps, expires and finds.

- :class:`MemoryCacheStore`: this process's memory, least recently used entries evicted past ``max_entries``;
- :class:`~ragwright.gateway.policies.redis_cache.RedisCacheStore`: Redis, shared by every replica.

Example::

    store = MemoryCacheStore(ttl_seconds=3600, max_entries=10_000)
    await store.put("acme", key, response, SemanticEntry(scope, "Is X supported?", vector))
    await store.get("acme", key)                                       # the response, until it expires
    await store.nearest("acme", scope, lambda: embed(question), 0.95)  # [(key, question)], best first
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ragwright.gateway.types import ChatResponse

Vector = npt.NDArray[np.float32]
VectorOf = Callable[[], Awaitable[Vector]]
"""The question's embedding, computed only when a scope has candidates to compare it with."""

__all__ = ["CacheStore", "MemoryCacheStore", "SemanticEntry", "Vector", "VectorOf"]


@dataclass(frozen=True, slots=True)
class SemanticEntry:
    """The question a stored reply answered, in its scope, with its (unit-length) embedding."""

    scope: str
    question: str
    vector: Vector


class CacheStore(Protocol):
    """Replies by tenant and key, and the questions behind them by scope (see the module)."""

    async def get(self, tenant: str, key: str) -> ChatResponse | None:
        """The reply stored under ``key`` for ``tenant`` and not expired, else None."""
        ...

    async def put(self, tenant: str, key: str, response: ChatResponse, semantic: SemanticEntry | None) -> None:
        """Store ``response`` (replacing any under ``key``), and its question when semantic caching is on."""
        ...

    async def nearest(self, tenant: str, scope: str, vector_of: VectorOf, threshold: float) -> list[tuple[str, str]]:
        """``(key, question)`` of the scope's questions with cosine >= ``threshold``, most similar first."""
        ...

    def __len__(self) -> int: ...


class _Entry:
    __slots__ = ("response", "expires", "scope")

    def __init__(self, response: ChatResponse, expires: float, scope: str | None) -> None:
        self.response = response
        self.expires = expires
        self.scope = scope


class MemoryCacheStore:
    """One process's cache: entries expire after ``ttl_seconds`` and at most ``max_entries`` are kept (least
    recently used go first), semantic questions with them, so memory is bounded."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._semantic: dict[tuple[str, str], dict[str, SemanticEntry]] = {}  # (tenant, scope) -> key -> question
        self._matrices: dict[tuple[str, str], tuple[list[str], Vector]] = {}  # (tenant, scope) -> stacked vectors

    def __len__(self) -> int:
        return len(self._entries)

    def semantic_size(self) -> int:
        """How many questions the semantic index holds (never more than the entries)."""
        return sum(len(members) for members in self._semantic.values())

    async def get(self, tenant: str, key: str) -> ChatResponse | None:
        slot = (tenant, key)
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            self._drop(slot)
            return None
        self._entries.move_to_end(slot)
        return entry.response

    async def put(self, tenant: str, key: str, response: ChatResponse, semantic: SemanticEntry | None) -> None:
        slot = (tenant, key)
        self._drop(slot)
        self._entries[slot] = _Entry(response, self.clock() + self.ttl, None if semantic is None else semantic.scope)
        if semantic is not None:
            scoped = (tenant, semantic.scope)
            self._matrices.pop(scoped, None)
            self._semantic.setdefault(scoped, {})[key] = semantic
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    async def nearest(self, tenant: str, scope: str, vector_of: VectorOf, threshold: float) -> list[tuple[str, str]]:
        scoped = (tenant, scope)
        members = self._semantic.get(scoped)
        if not members:
            return []
        cached = self._matrices.get(scoped)
        if cached is None:
            keys = list(members)
            cached = self._matrices[scoped] = keys, np.stack([members[k].vector for k in keys])
        keys, matrix = cached
        vector = await vector_of()
        scores = matrix @ vector
        found: list[tuple[str, str]] = []
        for index in np.argsort(-scores):
            if float(scores[index]) < threshold:
                break
            entry = members.get(keys[int(index)])
            if entry is not None:  # else dropped while the question was being embedded
                found.append((keys[int(index)], entry.question))
        return found

    def _drop(self, slot: tuple[str, str]) -> None:
        entry = self._entries.pop(slot, None)
        if entry is None or entry.scope is None:
            return
        scoped = (slot[0], entry.scope)
        self._matrices.pop(scoped, None)
        members = self._semantic.get(scoped)
        if members is not None:
            members.pop(slot[1], None)
            if not members:
                del self._semantic[scoped]
