"""Key revocation through Redis (sharedstate.revocation): a process that trusts a verified key for a second refuses it
on its next call once the revocation is announced, including after Redis restarted empty; and the MCP stdio path
honours it too."""

from __future__ import annotations

import uuid
from pathlib import Path

from ragwright.config import RedisSettings
from ragwright.interfaces.mcp.server import stored_key
from ragwright.service.keys import KeyStore
from ragwright.sharedstate.client import SharedRedis
from ragwright.sharedstate.revocation import KeyVersions, announce_revocation
from ragwright.testing.redis_server import RedisServer
from tests.conftest import REDIS_TIMEOUT


def _redis(settings: RedisSettings) -> SharedRedis:
    redis = SharedRedis.from_settings(settings)
    assert redis is not None
    return redis


async def test_an_announced_revocation_ends_the_verified_key_window(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    path = tmp_path / "keys.sqlite"
    serving = KeyStore(path, cache_seconds=3600.0)  # a window long enough that only the announcement can end it
    raw, key = serving.create("acme")
    versions = KeyVersions(_redis(redis_settings))
    await versions.refresh(serving)
    assert serving.verify(raw) == key
    with KeyStore(path) as elsewhere:  # `ragwright keys revoke` in another process
        assert elsewhere.revoke(key.key_id)
    await versions.refresh(serving)
    assert serving.verify(raw) == key  # not announced: the window still trusts it (what Redis is for)
    await announce_revocation(_redis(redis_settings))
    await versions.refresh(serving)
    assert serving.verify(raw) is None
    await versions.redis.aclose()
    serving.close()


async def test_a_redis_restarted_empty_cannot_replay_an_old_version(own_redis_server: RedisServer) -> None:
    class Forgetful:
        forgotten = 0

        def forget_verified(self) -> None:
            self.forgotten += 1

    redis = SharedRedis(own_redis_server.url, prefix="t" + uuid.uuid4().hex[:8], timeout=REDIS_TIMEOUT)
    versions, keys = KeyVersions(redis), Forgetful()
    await versions.bump()
    await versions.refresh(keys)
    seen = versions.seen
    own_redis_server.stop()
    own_redis_server.start()  # empty: the version is gone
    await redis.aclose()
    await versions.bump()  # the next revocation after the restart
    await versions.refresh(keys)
    assert versions.seen != seen and keys.forgotten == 2  # a counter would have come back to the value already seen
    await redis.aclose()


async def test_the_mcp_stdio_key_is_refused_on_its_next_call(tmp_path: Path, redis_settings: RedisSettings) -> None:
    path = tmp_path / "keys.sqlite"
    keys = KeyStore(path, cache_seconds=3600.0)
    raw, key = keys.create("acme")
    resolve = stored_key(keys, raw, KeyVersions(_redis(redis_settings)))
    assert await resolve(None) == key  # type: ignore[arg-type]
    with KeyStore(path) as elsewhere:
        elsewhere.revoke(key.key_id)
    await announce_revocation(_redis(redis_settings))
    assert await resolve(None) is None  # type: ignore[arg-type]
    keys.close()
