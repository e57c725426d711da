"""Per-key moving-window rate limits, shared by the HTTP service and the MCP server.

One minute per key: in this process's memory for ``memory://`` (the default), in a SQLite file shared by the
processes of one machine for ``sqlite://`` (what ``serve --workers N`` uses unless told otherwise; see
:mod:`ragwright.service.ratelimit_sqlite`), in Redis for ``redis`` (the ``[redis] url``) or a ``redis://`` URI, shared
by every replica (:mod:`ragwright.sharedstate.window`: one atomic Lua script per request; Redis unreachable is a
:class:`~ragwright.errors.SharedStateUnavailable`, never a silently local limit), else through the `limits`
library's asyncio storages. Each front end keeps its keys in its own namespace.

Example::

    limiter = RateLimiter(60, "sqlite://", data_dir=Path(".ragwright"), namespace="mcp")
    wait = await limiter.retry_after("a1b2c3d4e5f6")   # None while under the limit, else seconds until a slot frees
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from ragwright.errors import ConfigError
from ragwright.service.ratelimit_sqlite import SQLITE_SCHEME, SqliteWindow, sqlite_path
from ragwright.sharedstate.client import REDIS_STORAGE, SharedRedis
from ragwright.sharedstate.window import Charge, RedisWindows

__all__ = ["MemoryWindow", "RateLimiter", "Window"]


class MemoryWindow:
    """Hits per key over a moving window, in memory: what the `limits` library's moving window does, without its
    per-hit task and thread hop (its asyncio memory storage sends every expiry pass to a worker thread).

    Example::

        window = MemoryWindow(amount=2, seconds=60)
        window.hit("k"), window.hit("k"), window.hit("k")   # True, True, False
        window.reset_time("k")                              # when the oldest hit leaves the window
    """

    def __init__(self, amount: int, seconds: float = 60.0, *, clock: Callable[[], float] = time.time) -> None:
        self.amount = amount
        self.seconds = seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + seconds

    def hit(self, key: str) -> bool:
        """Record a hit unless ``amount`` hits already fall within the window; True when recorded."""
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            cutoff = now - self.seconds
            while hits and hits[0] < cutoff:
                hits.popleft()
            if len(hits) >= self.amount:
                return False
            hits.append(now)
            return True

    def reset_time(self, key: str) -> float:
        """When the oldest hit in the window expires (now, when there is none)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            cutoff = now - self.seconds
            while hits and hits[0] < cutoff:
                hits.popleft()
            return hits[0] + self.seconds if hits else now

    def _sweep(self, now: float) -> None:
        cutoff = now - self.seconds
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] < cutoff]:
            del self._hits[key]
        self._next_sweep = now + self.seconds


class Window(Protocol):
    """A moving window of hits per key (:class:`MemoryWindow`, :class:`SqliteWindow`)."""

    def hit(self, key: str) -> bool: ...

    def reset_time(self, key: str) -> float: ...


class RateLimiter:
    """``rpm`` requests per minute per key over a moving window; ``rpm=None`` disables it.

    ``memory://`` keeps the window in this process (:class:`MemoryWindow`); ``sqlite://`` in
    ``<data_dir>/ratelimit.sqlite`` (``sqlite:///path`` for another file), shared by every process that opens it
    (:class:`SqliteWindow`); ``redis`` in ``redis`` (given), ``redis://...`` in that Redis (:class:`RedisWindows`);
    other storage URIs go through the `limits` library's asyncio API (``async+<uri>``).
    ``clock`` (seconds since the epoch) is for tests.
    """

    def __init__(
        self,
        rpm: int | None,
        storage: str = "memory://",
        *,
        data_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        namespace: str = "key",
        redis: SharedRedis | None = None,
    ) -> None:
        self.item = RateLimitItemPerMinute(rpm) if rpm else None
        self.namespace = namespace
        self._clock = clock
        self._window: Window | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        self._shared: RedisWindows | None = None
        self._own_redis: SharedRedis | None = None
        plain = storage.removeprefix("async+")
        if not rpm:
            return
        if plain == REDIS_STORAGE or plain.startswith(("redis://", "rediss://", "unix://")):
            if plain != REDIS_STORAGE:  # its own Redis, named by the storage URI
                redis = self._own_redis = SharedRedis(plain, prefix=redis.prefix if redis else "rw")
            if redis is None:
                raise ConfigError("rate-limit storage 'redis' needs [redis] url")
            self._shared = RedisWindows(redis, namespace)
        elif plain == "memory://":
            self._window = MemoryWindow(rpm, clock=clock)
        elif plain.startswith(SQLITE_SCHEME):
            self._window = SqliteWindow(sqlite_path(plain, data_dir), rpm, clock=clock)
        else:
            uri = storage if storage.startswith("async+") else "async+" + storage
            self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def aclose(self) -> None:
        """Close the Redis connection of a ``redis://`` storage URI (a shared ``redis`` is its owner's to close)."""
        if self._own_redis is not None:
            await self._own_redis.aclose()

    async def retry_after(self, key_id: str) -> float | None:
        """Count one request for ``key_id``: None when allowed, else the seconds until the window has room."""
        if self.item is None:
            return None
        if self._shared is not None:
            refused = await self._shared.take([Charge(key_id, self.item.amount)])
            return None if refused is None else refused.retry_after or 0.0
        if self._window is not None:
            name = f"{self.namespace}:{key_id}"
            if self._window.hit(name):
                return None
            reset = self._window.reset_time(name)
        else:
            assert self._limiter is not None
            if await self._limiter.hit(self.item, self.namespace, key_id):
                return None
            reset = (await self._limiter.get_window_stats(self.item, self.namespace, key_id)).reset_time
        return max(0.0, reset - self._clock())
