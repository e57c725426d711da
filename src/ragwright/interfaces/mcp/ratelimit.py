"""Per-key request limits for tool calls, with the `limits` library (moving window; memory or Redis storage).

Example::

    limiter = KeyRateLimiter(per_minute=60)
    retry_after = await limiter.check("a1b2c3d4e5f6")   # None while under the limit, else seconds to wait
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class KeyRateLimiter:
    """``per_minute`` tool calls per key; ``None`` turns limiting off. ``storage`` is a `limits` URI."""

    def __init__(self, per_minute: int | None, storage: str = "memory://") -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute) if per_minute else None
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri)) if per_minute else None

    async def check(self, key_id: str) -> float | None:
        """Count one call for ``key_id``; return None when allowed, else the seconds until a slot frees up."""
        if self._limiter is None or self._item is None:
            return None
        if await self._limiter.hit(self._item, "mcp", key_id):
            return None
        stats = await self._limiter.get_window_stats(self._item, "mcp", key_id)
        return max(0.0, stats.reset_time - time.time())
