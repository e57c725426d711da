"""The gateway cache in Redis: a :class:`~ragwright.gateway.policies.cache_store.CacheStore` every replica shares.

Keys are per tenant, so one tenant's entries can be listed or flushed alone and no key of one tenant can name
another's reply (the exact digest also covers the tenant):

- ``<prefix>:cache:<tenant>:x:<digest>``: the reply as JSON, expiring after ``ttl_seconds`` (``PX``);
- ``<prefix>:cache:<tenant>:s:<scope>``: a hash of the scope's questions, field = the exact digest, value = when it
  was stored, the question and its float32 embedding; it expires ``ttl_seconds`` after its last write, and past
  ``max_entries`` questions the oldest half is dropped. A question whose reply has expired is found but its
  ``get`` misses, so it never answers.

Similar questions are found by reading the scope's hash and scoring it here (one scope holds the questions asked
with one system prompt and context, a few hundred at most), so no Redis module is needed.

Failure: the cache is an optimisation, not a limit. A lookup or store that cannot reach Redis is logged as a
warning and treated as a miss (the model answers; budgets and rate limits still fail closed on their own).

Example::

    store = RedisCacheStore(SharedRedis("redis://127.0.0.1:6379"), ttl_seconds=3600, max_entries=10_000)
    model = Cache(inner, exact=True, semantic=True, embedder=embedder, store=store)
"""

from __future__ import annotations

import json
import logging
import struct
import time
from typing import Any

import numpy as np

from ragwright.errors import SharedStateUnavailable
from ragwright.gateway.policies.cache_store import SemanticEntry, Vector, VectorOf
from ragwright.gateway.types import Attempt, ChatResponse, Message, TokenLogprob, ToolCall, Usage
from ragwright.sharedstate.client import SharedRedis

__all__ = ["RedisCacheStore", "decode_response", "encode_response"]

log = logging.getLogger(__name__)
_HEAD = struct.Struct("<dI")  # stored at (epoch seconds), question length in bytes


def encode_response(response: ChatResponse) -> bytes:
    """A reply as JSON bytes (every field: text, tool calls, usage, cost, attempts, logprobs)."""
    m = response.message
    data: dict[str, Any] = {
        "model": response.model,
        "message": {
            "role": m.role,
            "content": m.content,
            "tool_calls": [[c.id, c.name, c.arguments] for c in m.tool_calls],
            "tool_call_id": m.tool_call_id,
            "name": m.name,
        },
        "finish_reason": response.finish_reason,
        "usage": [
            response.usage.input_tokens,
            response.usage.cached_input_tokens,
            response.usage.output_tokens,
            response.usage.reasoning_tokens,
            response.usage.cache_write_tokens,
            response.usage.cache_write_1h_tokens,
        ],
        "cost_usd": response.cost_usd,
        "id": response.id,
        "saved_usd": response.saved_usd,
        "attempts": [[a.model, a.error, a.latency_ms] for a in response.attempts],
        "latency_ms": response.latency_ms,
        "logprobs": [[t.token, t.logprob, [list(p) for p in t.top]] for t in response.logprobs],
    }
    return json.dumps(data, separators=(",", ":")).encode()


def decode_response(raw: bytes) -> ChatResponse:
    """The reply :func:`encode_response` wrote."""
    data = json.loads(raw)
    m = data["message"]
    return ChatResponse(
        model=data["model"],
        message=Message(
            m["role"],
            m["content"],
            tuple(ToolCall(i, n, a) for i, n, a in m["tool_calls"]),
            m["tool_call_id"],
            m["name"],
        ),
        finish_reason=data["finish_reason"],
        usage=Usage(*data["usage"]),
        cost_usd=data["cost_usd"],
        id=data["id"],
        saved_usd=data["saved_usd"],
        attempts=tuple(Attempt(a, e, ms) for a, e, ms in data["attempts"]),
        latency_ms=data["latency_ms"],
        logprobs=tuple(TokenLogprob(t, p, tuple((s, v) for s, v in top)) for t, p, top in data["logprobs"]),
    )


def _b(value: bytes | str) -> bytes:
    """The client is made with raw replies (bytes); its type says either."""
    return value if isinstance(value, bytes) else value.encode()


def _pack(entry: SemanticEntry) -> bytes:
    question = entry.question.encode()
    return _HEAD.pack(time.time(), len(question)) + question + np.asarray(entry.vector, np.float32).tobytes()


def _unpack(raw: bytes) -> tuple[float, str, Vector]:
    at, size = _HEAD.unpack_from(raw)
    start = _HEAD.size + size
    return at, raw[_HEAD.size : start].decode(), np.frombuffer(raw[start:], np.float32)


class RedisCacheStore:
    """Cached replies and their questions in Redis, per tenant, with TTLs (see the module)."""

    def __init__(self, redis: SharedRedis, *, ttl_seconds: float, max_entries: int) -> None:
        self.redis = redis
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.max_entries = max_entries
        self._stored = 0

    def _exact(self, tenant: str, key: str) -> str:
        return self.redis.key("cache", tenant, "x", key)

    def _scope(self, tenant: str, scope: str) -> str:
        return self.redis.key("cache", tenant, "s", scope)

    def __len__(self) -> int:
        """Replies this process stored (the shared count is Redis's: ``SCAN <prefix>:cache:<tenant>:x:*``)."""
        return self._stored

    async def get(self, tenant: str, key: str) -> ChatResponse | None:
        try:
            async with self.redis.guard("the cache"):
                raw = await self.redis.client().get(self._exact(tenant, key))
        except SharedStateUnavailable as exc:
            log.warning("cache lookup skipped: %s", exc)
            return None
        return None if raw is None else decode_response(_b(raw))

    async def put(self, tenant: str, key: str, response: ChatResponse, semantic: SemanticEntry | None) -> None:
        try:
            async with self.redis.guard("the cache"):
                pipe = self.redis.client().pipeline(transaction=False)
                pipe.set(self._exact(tenant, key), encode_response(response), px=self.ttl_ms)
                if semantic is not None:
                    scope = self._scope(tenant, semantic.scope)
                    pipe.hset(scope, key, _pack(semantic))
                    pipe.pexpire(scope, self.ttl_ms)
                    pipe.hlen(scope)
                replies = await pipe.execute()
                if semantic is not None and int(replies[-1]) > self.max_entries:
                    await self._trim(self._scope(tenant, semantic.scope))
        except SharedStateUnavailable as exc:
            log.warning("cache store skipped: %s", exc)
            return
        self._stored += 1

    async def _trim(self, scope: str) -> None:
        """Drop the oldest half of a scope's questions."""
        members = await self.redis.client().hgetall(scope)
        by_age = sorted(members, key=lambda field: _unpack(_b(members[field]))[0])
        old = by_age[: max(1, len(by_age) // 2)]
        if old:
            await self.redis.client().hdel(scope, *old)

    async def nearest(self, tenant: str, scope: str, vector_of: VectorOf, threshold: float) -> list[tuple[str, str]]:
        try:
            async with self.redis.guard("the cache"):
                members = await self.redis.client().hgetall(self._scope(tenant, scope))
        except SharedStateUnavailable as exc:
            log.warning("semantic cache lookup skipped: %s", exc)
            return []
        if not members:
            return []
        keys, questions, vectors = [], [], []
        for field, raw in members.items():
            _, question, vector = _unpack(_b(raw))
            keys.append(_b(field).decode())
            questions.append(question)
            vectors.append(vector)
        vector = await vector_of()
        if any(v.shape != vector.shape for v in vectors):  # another embedder wrote this scope: no comparison
            return []
        scores = np.stack(vectors) @ vector
        order = [int(i) for i in np.argsort(-scores) if float(scores[int(i)]) >= threshold]
        return [(keys[i], questions[i]) for i in order]
