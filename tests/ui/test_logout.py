"""Logging out ends the session on the server: a copy of the cookie taken before logout is refused afterwards, by
every process (SQLite or PostgreSQL service state) and by every replica (Redis), until it would have expired."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ragwright.config import RedisSettings, load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.service.ended_sessions import SQLiteEndedSessions
from ragwright.service.keys import KeyStore
from ragwright.testing import ScriptedGateway
from ragwright.ui.session import COOKIE
from tests.http.conftest import Server, both_backends, clean_env, run_server
from tests.http.conftest import server as server  # noqa: F401 (the fixture)
from tests.ui.conftest import UiServer, login


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _log_in(url: str, raw: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=30)
    assert c.post("/login", data={"key": raw}).status_code == 303
    return c, c.cookies[COOKIE]


def _log_out(c: httpx.Client) -> None:
    r = c.post("/logout", data={"csrf_token": _csrf(c.get("/login?next=/", follow_redirects=True).text)})
    assert r.status_code == 303 and r.headers["location"] == "/login?reason=logged_out"


def _refused(url: str, cookie: str) -> bool:
    with httpx.Client(base_url=url, timeout=30, cookies={COOKIE: cookie}) as copy:
        r = copy.get("/", headers={"Accept": "text/html"})
        if r.status_code == 303 and r.headers["location"].startswith("/login?next=%2F&reason=logged_out"):
            assert "Max-Age=0" in r.headers["set-cookie"]  # the browser is told to drop it
            return True
        assert r.status_code in (200, 303), r.text[:300]  # served: the home page, or on to the first page
        return False


@both_backends
def test_a_copied_cookie_is_refused_after_logout(server: Server) -> None:
    raw = server.key(scopes=("read",))
    c, cookie = _log_in(server.url, raw)
    other, other_cookie = _log_in(server.url, raw)  # a second login of the same key: its own session
    assert not _refused(server.url, cookie)
    _log_out(c)
    assert _refused(server.url, cookie)
    assert not _refused(server.url, other_cookie)  # logging out ends this session only, not the key's others
    c.close()
    other.close()


def test_ended_sessions_are_forgotten_after_their_expiry(tmp_path: Path) -> None:
    async def run() -> None:
        ended = SQLiteEndedSessions(tmp_path / "service.sqlite")
        await ended.end("old", until=time.time() - 1)
        await ended.end("live", until=time.time() + 3600)
        assert not await ended.is_ended("old") and await ended.is_ended("live") and not await ended.is_ended("x")
        await ended.end("another", until=time.time() + 3600)  # a logout purges what has run out
        rows = ended._db.execute("SELECT sid FROM ui_ended_sessions ORDER BY sid").fetchall()
        assert [r[0] for r in rows] == ["another", "live"]
        ended.close()

    import asyncio

    asyncio.run(run())


@pytest.fixture
def replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_settings: RedisSettings
) -> Iterator[tuple[list[str], str]]:
    """Two replicas on different data directories (so nothing but Redis and the key file is shared) with one UI
    secret; yields their URLs and a raw read key."""
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    monkeypatch.setenv("UI_SECRET", "r" * 40)
    keys_file = tmp_path / "keys.sqlite"
    with KeyStore(keys_file) as store:
        raw, _ = store.create("acme", scopes=("read",))
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            settings = load_settings(
                data_dir=tmp_path / name,
                embedding={"model": "fake"},
                service={"rate_limit_rpm": None, "keys_file": str(keys_file)},
                gateway={"ledger": False},
                redis=redis_settings.model_dump(),
                ui={"session_secret": "env:UI_SECRET"},
            )
            servers = run_server(create_app(settings, gateway=ScriptedGateway({})))
            urls.append(next(servers))
            stack.callback(lambda s=servers: next(s, None))
        yield urls, raw


def test_logging_out_on_one_replica_ends_the_session_on_every_replica(replicas: tuple[list[str], str]) -> None:
    (a, b), raw = replicas
    c, cookie = _log_in(a, raw)
    assert not _refused(b, cookie)  # the same session is good on the other replica
    _log_out(c)
    c.close()
    assert _refused(b, cookie) and _refused(a, cookie)


def test_a_copied_cookie_is_refused_in_the_browser_after_logout(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"])
    copied = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert copied
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login?reason=logged_out")
    page.context.add_cookies(copied)  # the cookie as it was before logging out (copied from the browser)
    page.goto("/chat")
    assert "/login" in page.url and "reason=logged_out" in page.url
    expect(page.get_by_text("You are logged out.")).to_be_visible()
