"""MCP tool-call limits with the storage the HTTP workers share (``sqlite://``): one window across processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.errors import ConfigError
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter


async def test_sqlite_storage_is_shared_between_limiters(tmp_path: Path) -> None:
    a = KeyRateLimiter(3, "sqlite://", data_dir=tmp_path)  # as two `ragwright mcp --http` processes would have
    b = KeyRateLimiter(3, "sqlite://", data_dir=tmp_path)
    results = [await (a if i % 2 else b).check("k1") for i in range(6)]
    assert results[:3] == [None, None, None]
    assert all(r is not None and 0 < r <= 60 for r in results[3:])
    assert await a.check("k2") is None  # other keys have their own window
    assert (tmp_path / "ratelimit.sqlite").is_file()


async def test_memory_storage_and_no_limit_still_work(tmp_path: Path) -> None:
    limiter = KeyRateLimiter(1)
    assert await limiter.check("k") is None
    assert await limiter.check("k") is not None
    assert await KeyRateLimiter(None, "sqlite://").check("k") is None  # no limit: no file needed


def test_sqlite_without_a_place_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sqlite"):
        KeyRateLimiter(5, "sqlite://")
