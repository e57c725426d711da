"""The per-key rate limit over a SQLite file: processes (here, limiter instances with their own connections) that open
the same file share one moving window per key."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import KeyRateLimiter
from ragwright.service.ratelimit import MemoryWindow
from ragwright.service.ratelimit_sqlite import RateLimitStorageError, SqliteWindow, sqlite_path


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _passes(limiter: KeyRateLimiter, key: str) -> bool:
    try:
        await limiter.check(key)
    except ApiError as exc:
        assert exc.status == 429
        return False
    return True


def test_two_limiters_over_one_file_share_the_window_and_it_expires(tmp_path: Path) -> None:
    clock = Clock()
    a = KeyRateLimiter(5, "sqlite://", data_dir=tmp_path, clock=clock)
    b = KeyRateLimiter(5, "sqlite://", data_dir=tmp_path, clock=clock)

    async def run() -> None:
        passed = []
        for i in range(10):
            clock.now += 1.0
            passed.append(await _passes(a if i % 2 == 0 else b, "k1"))
        assert passed == [True] * 5 + [False] * 5
        assert await _passes(b, "k2")  # other keys have their own window
        with pytest.raises(ApiError) as refused:
            await a.check("k1")
        # The first hit was at +1 s and it is now +10 s: it leaves the window in 51 s.
        assert refused.value.headers == {"Retry-After": "51"}
        clock.now += 52.5  # +62.5 s: the hits at +1 and +2 s (from a and b) have left the window, not the one at +3 s
        assert [await _passes(b, "k1"), await _passes(a, "k1"), await _passes(b, "k1")] == [True, True, False]

    asyncio.run(run())
    assert (tmp_path / "ratelimit.sqlite").is_file()


def test_sqlite_window_matches_the_memory_window(tmp_path: Path) -> None:
    clock = Clock()
    memory = MemoryWindow(3, 10.0, clock=clock)
    shared = SqliteWindow(tmp_path / "rl.sqlite", 3, 10.0, clock=clock)
    for step in [0.5, 1, 1, 1, 2, 3, 0.1, 4, 7, 0.2, 0.2, 0.2, 11, 0.3]:
        clock.now += step
        for key in ("x", "y"):
            assert shared.hit(key) == memory.hit(key), (clock.now, key)
            assert shared.reset_time(key) == pytest.approx(memory.reset_time(key))
    shared.close()


def test_the_file_is_wal_and_old_hits_of_other_keys_are_swept(tmp_path: Path) -> None:
    clock = Clock()
    window = SqliteWindow(tmp_path / "rl.sqlite", 2, 60.0, clock=clock)
    for key in ("a", "b", "c"):
        assert window.hit(key)
    clock.now += 61
    assert window.hit("d")  # the first hit after a window also drops every key's expired hits
    with sqlite3.connect(tmp_path / "rl.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT key FROM rate_hits").fetchall() == [("d",)]
    window.close()


def test_storage_uris(tmp_path: Path) -> None:
    assert sqlite_path("sqlite://", tmp_path) == tmp_path / "ratelimit.sqlite"
    assert sqlite_path(f"sqlite://{tmp_path}/other.sqlite", None) == tmp_path / "other.sqlite"
    with pytest.raises(RateLimitStorageError):
        sqlite_path("sqlite://", None)
    limiter = KeyRateLimiter(1, f"sqlite://{tmp_path}/x/rl.sqlite")
    asyncio.run(limiter.check("k"))
    assert (tmp_path / "x" / "rl.sqlite").is_file()
    asyncio.run(KeyRateLimiter(None, "sqlite://").check("k"))  # no limit, no file needed


def test_counts_follow_the_log_and_are_rebuilt_on_open(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / "rl.sqlite"
    window = SqliteWindow(path, amount=3, seconds=60, clock=lambda: now[0])
    assert [window.hit("k") for _ in range(4)] == [True, True, True, False]
    now[0] += 30
    with sqlite3.connect(path) as db:  # as a file from before the counts table, or counts lost to a crash
        db.execute("DELETE FROM rate_counts")
    reopened = SqliteWindow(path, amount=3, seconds=60, clock=lambda: now[0])
    assert reopened.hit("k") is False  # the log still holds 3 hits in the window: the rebuilt count knows
    now[0] += 31  # the first three hits leave the window (the sweep is not due yet for `reopened`)
    assert [reopened.hit("k") for _ in range(4)] == [True, True, True, False]
    with sqlite3.connect(path) as db:
        (n,) = db.execute("SELECT n FROM rate_counts WHERE key = 'k'").fetchone()
        (logged,) = db.execute("SELECT count(*) FROM rate_hits WHERE key = 'k'").fetchone()
    assert n == logged == 3
