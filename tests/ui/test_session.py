"""The session cookie and its signing secret: forged, tampered and expired cookies are refused; the secret is shared
by every process of one data directory, configured for replicas, and never made per process."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import httpx
import pytest

from ragwright.config import load_settings
from ragwright.errors import ConfigError
from ragwright.interfaces.http.app import create_app
from ragwright.ui.csrf import csrf_token
from ragwright.ui.session import COOKIE, SECRET_FILE, Session, SessionCodec, signing_secret
from tests.http.conftest import clean_env, make_settings, run_server

SECRET = b"s" * 32


def _aged(codec: SessionCodec, session: Session, seconds: float, monkeypatch: pytest.MonkeyPatch) -> str:
    """A cookie signed ``seconds`` ago (itsdangerous reads the clock through time.time)."""
    now = time.time()
    with monkeypatch.context() as m:
        m.setattr("itsdangerous.timed.time.time", lambda: now - seconds)
        return codec.dumps(session)


def test_a_cookie_round_trips_and_anything_else_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SessionCodec(SECRET, max_age=3600)
    session = Session.new("a1b2c3d4e5f6")
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    assert codec.loads(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None  # tampered signature
    assert SessionCodec(b"t" * 32, max_age=3600).loads(cookie) is None  # another deployment's secret
    assert codec.loads("") is None and codec.loads("not.a.cookie") is None
    old = _aged(codec, session, 3700, monkeypatch)
    assert codec.loads(old) is None and codec.expired(old) and not codec.expired(cookie)
    with pytest.raises(ValueError):
        SessionCodec(b"short", max_age=1)


def test_csrf_tokens_are_per_session_and_per_secret() -> None:
    assert csrf_token(SECRET, "sid1") == csrf_token(SECRET, "sid1")
    assert csrf_token(SECRET, "sid1") != csrf_token(SECRET, "sid2")
    assert csrf_token(SECRET, "sid1") != csrf_token(b"t" * 32, "sid1")


def test_the_default_secret_is_one_private_file_shared_by_every_process(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", embedding={"model": "fake"})
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(signing_secret(settings))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results[0]) >= 32  # racing first users agree on one secret
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_secret(settings) == results[0] == path.read_bytes().strip()  # read again, not made again
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_replicas_need_a_configured_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replicas = load_settings(data_dir=tmp_path, embedding={"model": "fake"}, redis={"url": "redis://127.0.0.1:1"})
    with pytest.raises(ConfigError, match="session_secret"):
        signing_secret(replicas)
    assert not (tmp_path / SECRET_FILE).exists()
    monkeypatch.setenv("UI_SECRET", "x" * 40)
    shared = replicas.model_copy(update={"ui": replicas.ui.model_copy(update={"session_secret": "env:UI_SECRET"})})
    assert signing_secret(shared) == b"x" * 40
    monkeypatch.setenv("UI_SECRET", "short")
    with pytest.raises(ConfigError, match="32"):
        signing_secret(shared)
    with pytest.raises(ConfigError, match="reference"):
        load_settings(data_dir=tmp_path, ui={"session_secret": "literal-secret-in-the-file"})


def test_an_expired_session_is_sent_to_log_in_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = make_settings(tmp_path / "index")
    app = create_app(settings)
    raw, key = app.state.service.keys.create("acme", scopes=("read",))
    codec = SessionCodec(
        signing_secret(settings.model_copy(update={"data_dir": settings.data_dir.resolve()})),
        max_age=settings.ui.session_hours * 3600,
    )
    for url in run_server(app):
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.post("/login", data={"key": raw}).status_code == 303
            assert c.get("/").status_code in (200, 303) and c.get("/login").status_code == 303  # logged in
            c.cookies.clear()
            c.cookies.set(
                COOKIE, _aged(codec, Session.new(key.key_id), settings.ui.session_hours * 3600 + 60, monkeypatch)
            )
            r = c.get("/")
            assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F&reason=expired"
            assert r.headers["set-cookie"].startswith(f'{COOKIE}=""; ') and "Max-Age=0" in r.headers["set-cookie"]
            page = c.get(r.headers["location"])
            assert page.status_code == 200 and "Your session expired" in page.text


def test_replicas_without_a_shared_secret_get_an_explanation_and_the_api_serves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = make_settings(tmp_path / "index").model_copy(
        update={"redis": load_settings(redis={"url": "redis://127.0.0.1:1/0"}).redis}
    )
    app = create_app(settings)
    raw, _ = app.state.service.keys.create("acme", scopes=("read",))
    for url in run_server(app):
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.get("/login").status_code == 200
            r = c.post("/login", data={"key": raw})
            assert r.status_code == 503 and "session_secret" in r.text and COOKIE not in c.cookies
            assert c.get("/healthz").status_code == 200
    assert not (tmp_path / "index" / SECRET_FILE).exists()
