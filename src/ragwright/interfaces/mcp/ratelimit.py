"""Per-key limits for tool calls: :class:`ragwright.service.ratelimit.RateLimiter` with the MCP server's own namespace
(with ``sqlite://`` its window lives in the file the HTTP workers share, apart from their requests).

Example::

    limiter = KeyRateLimiter(per_minute=60)
    retry_after = await limiter.check("a1b2c3d4e5f6")   # None while under the limit, else seconds to wait
"""

from __future__ import annotations

from pathlib import Path

from ragwright.service.ratelimit import RateLimiter
from ragwright.sharedstate.client import SharedRedis


class KeyRateLimiter(RateLimiter):
    """``per_minute`` tool calls per key; ``None`` turns limiting off. ``storage``: ``memory://``, ``sqlite://`` or a
    `limits` URI; ``redis`` with the deployment's :class:`SharedRedis`."""

    def __init__(
        self,
        per_minute: int | None,
        storage: str = "memory://",
        *,
        data_dir: Path | None = None,
        redis: SharedRedis | None = None,
    ) -> None:
        super().__init__(per_minute, storage, data_dir=data_dir, namespace="mcp", redis=redis)
        self.per_minute = per_minute

    async def check(self, key_id: str) -> float | None:
        """Count one call for ``key_id``; return None when allowed, else the seconds until a slot frees up."""
        return await self.retry_after(key_id)
