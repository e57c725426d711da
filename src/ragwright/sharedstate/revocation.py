"""Key revocation that every replica honours on its next request: a version number in Redis.

A server trusts a key it verified for up to a second (:data:`ragwright.service.keys.VERIFIED_KEY_SECONDS`) so that a
busy replica does not read the key store on every request. With a ``[redis] url`` that window no longer delays a
revocation:

- ``ragwright keys revoke`` writes the revocation to the key store, then sets ``<prefix>:keys:version`` to a new
  random value, and only then returns (random, not a counter: a Redis restarted empty cannot hand a replica back a
  version it already saw);
- every request reads that version first (one ``GET``, ~0.1 ms on a LAN); when it differs from the one the replica
  last saw, the replica forgets every key it had verified and reads the store again.

A request that starts after the revoke returned reads the new version, so it cannot be served from the old trust.
A verification that raced the revocation was stored under the old version and is forgotten with it. Redis not
answering is :class:`~ragwright.errors.SharedStateUnavailable` (503): a replica that cannot learn of revocations does
not keep trusting keys.

Example::

    versions = KeyVersions(SharedRedis("redis://127.0.0.1:6379"))
    await versions.refresh(store)          # per request, before store.verify(raw_key)
    store.revoke(key_id); await versions.bump()    # what `ragwright keys revoke` does
"""

from __future__ import annotations

import uuid
from typing import Protocol

from ragwright.sharedstate.client import SharedRedis

__all__ = ["KeyVersions", "VerifiedKeys", "announce_revocation"]


class VerifiedKeys(Protocol):
    """A key store that remembers keys it verified (:class:`ragwright.service.keys.KeyStore`)."""

    def forget_verified(self) -> None: ...


class KeyVersions:
    """The deployment's key version in Redis, and the one this process last saw (see the module)."""

    def __init__(self, redis: SharedRedis) -> None:
        self.redis = redis
        self.seen: bytes | None = None
        self._key = redis.key("keys", "version")

    async def refresh(self, keys: VerifiedKeys) -> None:
        """Read the version; if it moved since the last request, make ``keys`` forget every key it verified."""
        async with self.redis.guard("key revocation"):
            version = await self.redis.client().get(self._key)
        current = version if isinstance(version, bytes) else b"0"
        if current != self.seen:
            keys.forget_verified()
            self.seen = current

    async def bump(self) -> None:
        """Announce a revocation (after it is in the key store): every replica re-reads keys on its next request."""
        async with self.redis.guard("key revocation"):
            await self.redis.client().set(self._key, uuid.uuid4().hex)


async def announce_revocation(redis: SharedRedis) -> None:
    """:meth:`KeyVersions.bump` from a short-lived process (``ragwright keys revoke``), closing its connection."""
    try:
        await KeyVersions(redis).bump()
    finally:
        await redis.aclose()
