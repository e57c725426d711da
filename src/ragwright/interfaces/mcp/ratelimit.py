"""Per-key request limits for tool calls: a moving window in the `limits` library (memory or Redis storage), or in
the SQLite file the HTTP service's workers share (``sqlite://``; the service's own window, keys prefixed ``mcp:``).

Example::

    limiter = KeyRateLimiter(per_minute=60)
    retry_after = await limiter.check("a1b2c3d4e5f6")   # None while under the limit, else seconds to wait
"""

from __future__ import annotations

import time
from pathlib import Path

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from ragwright.interfaces.http.ratelimit_sqlite import SQLITE_SCHEME, SqliteWindow, sqlite_path


class KeyRateLimiter:
    """``per_minute`` tool calls per key; ``None`` turns limiting off. ``storage`` is a `limits` URI."""

    def __init__(self, per_minute: int | None, storage: str = "memory://", *, data_dir: Path | None = None) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute) if per_minute else None
        plain = storage.removeprefix("async+")
        self._window = (SqliteWindow(sqlite_path(plain, data_dir), per_minute)
                        if per_minute and plain.startswith(SQLITE_SCHEME) else None)
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        self._limiter = (MovingWindowRateLimiter(storage_from_string(uri))
                         if per_minute and self._window is None else None)

    async def check(self, key_id: str) -> float | None:
        """Count one call for ``key_id``; return None when allowed, else the seconds until a slot frees up."""
        if self._window is not None:
            if self._window.hit(f"mcp:{key_id}"):
                return None
            return max(0.0, self._window.reset_time(f"mcp:{key_id}") - time.time())
        if self._limiter is None or self._item is None:
            return None
        if await self._limiter.hit(self._item, "mcp", key_id):
            return None
        stats = await self._limiter.get_window_stats(self._item, "mcp", key_id)
        return max(0.0, stats.reset_time - time.time())
