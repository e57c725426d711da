"""One Redis for a process's shared state: a client per event loop, every command under a deadline, failures typed.

``redis.asyncio`` connections belong to the event loop that opened them, and ragwright runs more than one loop in a
process (the HTTP service's, the gateway's own thread), so :meth:`SharedRedis.client` keeps one client per loop.

Failing closed: a command that cannot reach Redis within ``timeout`` (refused, reset, timed out) raises
:class:`~ragwright.errors.SharedStateUnavailable`, which every front door answers with 503 and ``Retry-After``; no
caller falls back to this process's memory. Commands are never retried by the client: a Lua script that ran but
whose reply was lost would otherwise count twice.

Example::

    redis = SharedRedis("redis://127.0.0.1:6379/0", prefix="rw", timeout=2.0)
    async with redis.guard("rate limit"):
        await redis.client().ping()
    redis.key("rl", "key:abc")      # 'rw:rl:key:abc'
    await redis.aclose()
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ragwright.config import RedisSettings
from ragwright.errors import SharedStateUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["SharedRedis", "limit_storage"]

log = logging.getLogger(__name__)
POOL_SIZE = 32
"""Connections per event loop: Redis answers a script in microseconds, so a few connections carry thousands of
requests a second; more would only add connection set-up under a burst."""
REDIS_STORAGE = "redis"
"""The rate-limit storage value that means "the [redis] url"."""


class SharedRedis:
    """A Redis URL plus the key prefix and command deadline every shared-state module uses (see the module)."""

    def __init__(self, url: str, *, prefix: str = "rw", timeout: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        parts = urlsplit(url)
        self.where = parts.path if parts.scheme == "unix" else f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = weakref.WeakKeyDictionary()
        self._scripts: dict[tuple[int, str], AsyncScript] = {}

    @classmethod
    def from_settings(cls, settings: RedisSettings) -> SharedRedis | None:
        """The deployment's Redis, or None when ``[redis] url`` is unset."""
        url = settings.resolved_url()
        return None if url is None else cls(url, prefix=settings.prefix, timeout=settings.timeout)

    def key(self, *parts: str) -> str:
        """A key in this deployment's namespace: ``<prefix>:<part>:<part>...``."""
        return ":".join((self.prefix, *parts))

    def client(self) -> Redis:
        """The client of the running event loop (made on first use)."""
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # A bounded pool: a burst of requests waits for a connection instead of opening hundreds at once.
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=POOL_SIZE,
                timeout=self.timeout,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
            client = Redis.from_pool(pool)  # the client owns the pool and closes it
            self._clients[loop] = client
        return client

    def script(self, lua: str) -> AsyncScript:
        """``lua`` registered on the running loop's client (EVALSHA, loading it again after a Redis restart)."""
        client = self.client()
        slot = (id(client), lua)
        script = self._scripts.get(slot)
        if script is None:
            script = self._scripts[slot] = client.register_script(lua)
        return script

    @asynccontextmanager
    async def guard(self, what: str) -> AsyncIterator[None]:
        """Turn Redis being unreachable into :class:`SharedStateUnavailable` naming ``what`` needed it."""
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            async with asyncio.timeout(self.timeout * 2 + 0.5):  # connect + reply, each under socket timeouts
                yield
        except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError) as exc:
            raise SharedStateUnavailable(
                f"Redis at {self.where} did not answer ({type(exc).__name__}); {what} is shared through it, so the "
                "request is refused rather than checked by this process alone"
            ) from None

    async def run(self, what: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua ``script`` under :meth:`guard`."""
        async with self.guard(what):
            return await self.script(script)(keys=keys, args=args)

    async def aclose(self) -> None:
        """Close the running loop's client; clients of other loops are dropped with their loops."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        client = self._clients.pop(loop, None)
        self._scripts = {k: v for k, v in self._scripts.items() if client is None or k[0] != id(client)}
        if client is not None:
            await client.aclose()


def limit_storage(storage: str, *, explicit: bool, redis: SharedRedis | None, what: str) -> str:
    """The rate-limit storage to use: ``redis`` when a ``[redis] url`` is set and ``storage`` was not chosen;
    an explicit per-process choice beside a configured Redis is kept but logged loudly (N replicas, N times the
    limit)."""
    if redis is None:
        return storage
    if not explicit:
        return REDIS_STORAGE
    if not storage.startswith((REDIS_STORAGE, "rediss://", "unix://")):
        log.warning(
            "%s: storage %s keeps limits in this process although [redis] url is set: every replica allows the full "
            "limit on its own",
            what,
            storage,
        )
    return storage
