"""The per-request machinery of the HTTP service on its own: the in-memory rate window, the worker-thread hop with its
timeout, the verified-key cache (on a real key file) and the pre-serialised search body."""

from __future__ import annotations

import contextvars
import json
import threading
from pathlib import Path

import orjson
import pytest

from ragwright.app import Ragwright
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.limits import KeyRateLimiter, run_blocking
from ragwright.interfaces.http.routes.search import search_json
from ragwright.interfaces.http.schemas import HitOut, SearchOut
from ragwright.service.keys import KeyStore
from ragwright.service.ratelimit import MemoryWindow
from tests.http.conftest import make_settings


def test_memory_window_counts_hits_per_key_within_the_window() -> None:
    now = [1000.0]
    window = MemoryWindow(amount=2, seconds=60, clock=lambda: now[0])
    assert [window.hit("a"), window.hit("a"), window.hit("a")] == [True, True, False]
    assert window.hit("b")  # another key has its own window
    assert window.reset_time("a") == 1060.0
    now[0] = 1059.9
    assert not window.hit("a")  # still inside the window
    now[0] = 1060.5
    assert window.hit("a")  # the old hits left the window


async def test_rate_limiter_429_carries_retry_after() -> None:
    limiter = KeyRateLimiter(rpm=2)
    await limiter.check("k")
    await limiter.check("k")
    with pytest.raises(ApiError) as refused:
        await limiter.check("k")
    assert refused.value.status == 429 and refused.value.type == "rate_limited"
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    await KeyRateLimiter(rpm=None).check("k")  # disabled: never refuses


async def test_run_blocking_returns_on_a_worker_thread_and_times_out_with_503() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("request")

    def work(x: int) -> tuple[int, str, bool]:
        return x * 2, var.get(), threading.current_thread() is threading.main_thread()

    assert await run_blocking(work, 21, timeout=5) == (42, "request", False)
    release = threading.Event()
    finished = threading.Event()

    def blocked() -> None:
        release.wait(30)
        finished.set()

    with pytest.raises(ApiError) as late:
        await run_blocking(blocked, timeout=0.05)
    assert late.value.status == 503 and late.value.type == "timeout"
    # the client is told while the work is still blocked; the thread finishes in the background once released
    assert not finished.is_set()
    release.set()
    assert finished.wait(10)


def test_key_cache_revocation_is_immediate_here_and_bounded_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    now = [100.0]
    with KeyStore(path, cache_seconds=1.0, clock=lambda: now[0]) as cached, KeyStore(path) as other:
        raw, key = cached.create("acme")
        assert cached.verify(raw) == key
        other.revoke(key.key_id)  # e.g. `ragwright keys revoke` in another process
        assert other.verify(raw) is None
        now[0] = 100.9
        assert cached.verify(raw) == key  # still trusted, for at most cache_seconds
        now[0] = 101.0
        assert cached.verify(raw) is None

        raw2, key2 = cached.create("acme")
        assert cached.verify(raw2) == key2
        cached.revoke(key2.key_id)  # through the caching store itself: at once
        assert cached.verify(raw2) is None
        assert cached.verify(raw2[:-1] + ("A" if raw2[-1] != "A" else "B")) is None


def test_search_json_is_the_search_out_model_json(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Keys\n\n## Rotation\n\nRotate the API keys every 90 days.\n", encoding="utf-8")
    (docs / "b.md").write_text("# Vacation\n\nEmployees get 25 vacation days per year.\n", encoding="utf-8")
    rw = Ragwright(make_settings(tmp_path / "index"))
    try:
        rw.ingest([docs], tenant="acme")
        result = rw.search("rotate keys", tenant="acme", k=5)
    finally:
        rw.close()
    assert result.hits
    model = SearchOut(
        query="rotate keys",
        mode=result.mode,
        knowledge_base="default",
        hits=[
            HitOut(
                rank=h.rank,
                score=round(h.score, 6),
                doc_id=h.chunk.doc_path,
                chunk_id=h.chunk.chunk.id,
                title=h.chunk.doc_title,
                heading_path=list(h.chunk.chunk.heading_path),
                page=h.chunk.chunk.page,
                char_start=h.chunk.chunk.char_start,
                char_end=h.chunk.chunk.char_end,
                text=h.chunk.chunk.text,
            )
            for h in result.hits
        ],
        timings_ms={k: round(v, 3) for k, v in result.timings_ms.items()},
    )
    body = search_json("rotate keys", result.mode, "default", result)
    assert list(orjson.loads(body)) == list(SearchOut.model_fields)
    assert orjson.loads(body) == json.loads(model.model_dump_json())
    empty = orjson.loads(search_json("q", "hybrid", "kb", None))
    assert empty == json.loads(
        SearchOut(query="q", mode="hybrid", knowledge_base="kb", hits=[], timings_ms={}).model_dump_json()
    )
