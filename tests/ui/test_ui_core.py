"""The web UI's foundation in a real browser: logging in and out, bad and revoked keys, admin-only navigation, CSRF,
accessibility of the shared layout, and the page weight budget."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from ragwright.ui.session import COOKIE, SECRET_FILE, Session, SessionCodec
from tests.ui.conftest import (
    PAGE_BUDGET,
    UiServer,
    assert_accessible,
    key_id,
    login,
    page_weight,
    screenshots,
)


def _session_cookies(page: Any) -> list[dict[str, Any]]:
    return [c for c in page.context.cookies() if c["name"] == "rw_session"]


def test_login_with_a_good_key_then_log_out(page: Any, ui: UiServer) -> None:
    page.goto("/")
    assert page.url.endswith("/login?next=%2F")  # not logged in: the login page, remembering where we were
    assert_accessible(page, "the login page")
    screenshots(page, "login")
    login(page, ui.keys["writer"])
    cookie = _session_cookies(page)[0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and ui.keys["writer"] not in cookie["value"]
    expect(page.get_by_text("default · writer")).to_be_visible()  # who is logged in, in the shared layout
    assert_accessible(page, "the home page")
    screenshots(page, "home")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login?reason=logged_out")
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    assert _session_cookies(page) == []
    page.goto("/")
    assert "/login" in page.url


def test_a_bad_key_is_refused_with_a_message_and_no_cookie(page: Any, ui: UiServer) -> None:
    login(page, "rw_0123456789ab_notarealsecretnotarealsecret")
    error = page.get_by_role("alert")
    assert "not valid" in error.inner_text()
    assert page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    assert _session_cookies(page) == []
    assert_accessible(page, "the login page with an error")
    login(page, ui.keys["reader"] + "x")  # a real key's id with a wrong secret
    assert _session_cookies(page) == []


def test_revoking_the_key_ends_its_session_on_the_next_request(page: Any, ui: UiServer) -> None:
    raw = ui.new_key(("read",), name="soon-revoked")
    login(page, raw)
    assert _session_cookies(page)
    page.goto("/")
    assert "/login" not in page.url
    ui.revoke(raw)  # in the key store, from another process: as `ragwright keys revoke` does
    page.reload()
    assert "/login" in page.url and "reason=revoked" in page.url
    expect(page.get_by_text("the key it used was revoked")).to_be_visible()
    assert _session_cookies(page) == []


def test_operations_are_for_admin_keys_only(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["writer"])
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.count() == 0 or nav.get_by_role("link", name="Operations").count() == 0
    response = page.goto("/ops")
    assert response is not None and response.status in (403, 404)  # 404 until the Operations pages exist
    if response.status == 403:
        expect(page.get_by_text("does not have the 'admin' scope")).to_be_visible()
        assert_accessible(page, "the forbidden page")
        page.context.clear_cookies()
        login(page, ui.keys["admin"])
        page.goto("/")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"])
    status = page.evaluate("fetch('/logout', {method: 'POST', redirect: 'manual'}).then(r => r.status)")
    assert status == 403
    token = page.evaluate("window.ragwright.csrf")
    ok = page.evaluate(
        "t => fetch('/logout', {method: 'POST', headers: {'X-CSRF-Token': t}, redirect: 'manual'}).then(r => r.type)",
        token,
    )
    assert ok == "opaqueredirect"  # accepted: the 303 to the login page
    assert _session_cookies(page) == []


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_the_content(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"])
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # visible focus
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_home_page_stays_within_the_weight_budget(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["admin"])
    weight = page_weight(page, "/")
    print(f"\npage weight of {page.url}: {weight.total} bytes gzip: {weight.files}")
    assert weight.files and weight.total <= PAGE_BUDGET
    login_page = page_weight(page, "/login?next=/")  # logged in: redirected onwards; still counted
    assert login_page.total <= PAGE_BUDGET


def test_an_expired_session_sends_an_htmx_request_to_log_in_and_back(
    page: Any, ui: UiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(page, ui.keys["writer"])
    page.goto("/login?next=/")  # logged in: passed on to the start page
    start = page.url
    assert "/login" not in start
    codec = SessionCodec((ui.data_dir / SECRET_FILE).read_bytes().strip(), max_age=8 * 3600)
    now = time.time()
    with monkeypatch.context() as m:  # a cookie signed 9 hours ago: past the default 8 h
        m.setattr("itsdangerous.timed.time.time", lambda: now - 9 * 3600)
        old = codec.dumps(Session.new(key_id(ui.keys["writer"])))
    page.context.clear_cookies()
    page.context.add_cookies([{"name": COOKIE, "value": old, "url": ui.url, "httpOnly": True, "sameSite": "Lax"}])
    with page.expect_navigation():
        page.evaluate("htmx.ajax('GET', '/', {target: '#main'})")  # what any htmx part of a page does
    assert "/login" in page.url and "reason=expired" in page.url
    expect(page.get_by_text("Your session expired")).to_be_visible()
    page.get_by_label("API key").fill(ui.keys["writer"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(start)  # back where the user was
