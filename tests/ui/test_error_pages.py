"""Errors inside the web UI come back as pages in the UI's layout (status, a plain message, the request id, a link
back), or as a small fragment for htmx; the /v1 API and the pages' own fetch calls keep the one JSON error body.
Over real HTTP against an in-process app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ragwright.interfaces.http.app import create_app
from tests.http.conftest import clean_env, make_settings, run_server
from tests.ui.conftest import UiServer, assert_accessible, login, screenshots

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # a browser navigating
SECRET = "sk-live-0123456789abcdef"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    app = create_app(make_settings(tmp_path / "index", rate_limit_rpm=None))
    keys = app.state.service.keys
    raws = {
        role: keys.create("acme", scopes=scopes)[0]
        for role, scopes in (("reader", ("read",)), ("writer", ("read", "write")), ("admin", ("admin",)))
    }
    for url in run_server(app):
        yield url, raws


@contextmanager
def _client(url: str, raw: str | None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as c:
        if raw is not None:
            assert c.post("/login", data={"key": raw}).status_code == 303
        yield c


def _is_error_page(r: httpx.Response, status: int, title: str, back: str) -> str:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    text = r.text
    assert f"<h1>{title}</h1>" in text and 'role="alert"' in text
    assert f"<dd>{status}</dd>" in text
    assert f"<code>{r.headers['x-request-id']}</code>" in text  # the id a user quotes to the operator
    assert f'href="{back}"' in text
    assert "Traceback" not in text and '{"error"' not in text
    return text


def test_errors_in_pages_are_pages_in_the_layout(site: tuple[str, dict[str, str]]) -> None:
    url, raws = site
    with _client(url, None) as anon:
        _is_error_page(anon.get("/no-such-page", headers=PAGE), 404, "Not found", "/")
        echoed = anon.get(f"/chat/{SECRET}/<script>x</script>", params={"q": SECRET}, headers=PAGE)
        assert SECRET not in _is_error_page(echoed, 404, "Not found", "/chat")  # the path is never echoed back
    with _client(url, raws["reader"]) as reader:
        text = _is_error_page(reader.get("/documents/no-such-page", headers=PAGE), 404, "Not found", "/documents")
        assert 'aria-label="Main"' in text  # the user's navigation stays
        _is_error_page(reader.get("/ops", headers=PAGE), 403, "Not allowed", "/")
    with _client(url, raws["writer"]) as writer:  # a bad form value: the delete form without the document's id
        form = {"csrf_token": _csrf(writer.get("/documents").text)}
        r = writer.post("/documents/delete", data=form, headers=PAGE)
        assert "doc_id" in _is_error_page(r, 422, "That did not work", "/documents")
    with _client(url, raws["admin"]) as admin:
        r = admin.get("/ops/usage", params={"days": "many"}, headers=PAGE)  # a bad value in a page's query
        assert "days" in _is_error_page(r, 422, "That did not work", "/ops")


def test_an_unexpected_failure_is_a_page_without_traceback_or_secret(
    site: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, raws = site

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"could not reach http://user:{SECRET}@db/ (token {SECRET})")

    monkeypatch.setattr("ragwright.ui.pages.documents._list_context", broken)
    with _client(url, raws["reader"]) as reader:
        # uvicorn closes the connection after an unhandled error: one connection per request
        r = reader.get("/documents", headers={**PAGE, "Connection": "close"})
        text = _is_error_page(r, 500, "Something went wrong", "/documents")
        assert "internal error (incident " in text and SECRET not in text
        # htmx swapping the list: a fragment the page shows, with the message in X-Error-Message for app.js
        r = reader.get("/documents/list", headers={"HX-Request": "true", "Accept": "*/*", "Connection": "close"})
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        assert r.text.startswith('<p class="notice notice-error" role="alert">') and "<html" not in r.text
        assert r.headers["x-error-message"].startswith("internal error (incident ") and SECRET not in r.text


def test_the_api_and_the_pages_fetch_calls_keep_the_json_error(site: tuple[str, dict[str, str]]) -> None:
    url, raws = site
    with _client(url, raws["reader"]) as reader:
        bearer = {**PAGE, "Authorization": f"Bearer {raws['reader']}"}
        api = reader.get("/v1/citations/original", params={"doc_id": "x", "knowledge_base": "default"}, headers=bearer)
        assert api.status_code == 404 and api.json()["error"]["type"] == "not_found"
        assert "error" in reader.get("/v1/no/such/route", headers=PAGE).json()
        # chat.js fetches the source view and reads the JSON error (a browser's fetch sends Accept: */*)
        r = reader.get("/chat/source", params={"doc_id": "x", "chunk_id": "y", "start": 0, "end": 1})
        assert r.status_code in (400, 404, 422) and "error" in r.json()
        r = reader.get("/static/no-such-file.js", headers=PAGE)
        assert r.status_code == 404 and "<html" not in r.text


def test_the_error_page_and_an_htmx_error_in_the_browser(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/documents")
    response = page.goto("/documents/no-such-page")
    assert response is not None and response.status == 404
    page.get_by_role("heading", name="Not found").wait_for()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents")).to_be_visible()
    expect(page.get_by_text(response.headers["x-request-id"])).to_be_visible()
    assert_accessible(page, "the 404 page")
    screenshots(page, "error-404")
    page.get_by_role("link", name="Back to Documents").click()
    page.get_by_role("heading", name="Documents").wait_for()
    # an htmx request the server refuses (a knowledge-base name the route does not accept): the page says why
    page.evaluate("htmx.ajax('GET', '/documents/list?kb=no%20such!', {target: '#main', swap: 'none'})")
    expect(page.locator("#flash")).to_contain_text("kb")
