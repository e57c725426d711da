"""The shared layout's pieces: the navigation follows the pages that exist and the key's scopes, the macros render
labelled, keyboard-reachable markup, and every page carries the security headers."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI
from starlette.requests import Request

from ragwright.service.keys import ApiKey
from ragwright.ui.auth import UiUser
from ragwright.ui.render import ENV, PAGE_HEADERS, nav_for, render
from ragwright.ui.session import Session


def _user(*scopes: str) -> UiUser:
    key = ApiKey("a1b2c3d4e5f6", "acme", frozenset(scopes), (), "alice", time.time(), False)
    return UiUser(key=key, session=Session("sid", key.key_id), csrf="tok")


def _request(*paths: str) -> Request:
    app = FastAPI()
    pages = APIRouter(include_in_schema=False, tags=["ui"])
    for path in paths:
        pages.add_api_route(path, lambda: None)
    outer = APIRouter()
    outer.include_router(pages)  # nested, as ragwright.ui.ui_router includes the page modules
    app.include_router(outer)
    return Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": [], "query_string": b""})


def test_the_nav_shows_existing_pages_the_key_may_open() -> None:
    request = _request("/chat", "/evals", "/ops")
    assert [i.label for i in nav_for(request, _user("read"))] == ["Chat", "Evaluations"]
    assert [i.label for i in nav_for(request, _user("admin"))] == ["Chat", "Evaluations", "Operations"]
    assert nav_for(request, _user("approve")) == []  # approve alone opens none of these
    assert nav_for(request, None) == []


def test_the_layout_carries_the_csrf_token_for_forms_and_htmx_and_the_security_headers() -> None:
    response = render(_request("/chat"), "home.html", _user("admin"), title="Home")
    html = response.body.decode()
    assert '<input type="hidden" name="csrf_token" value="tok">' in html  # the logout form
    assert 'hx-headers=\'{"X-CSRF-Token": "tok"}\'' in html and 'data-csrf="tok"' in html
    assert 'class="skip-link" href="#main"' in html
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_macros_label_and_describe_their_controls() -> None:
    template = ENV.from_string(
        '{% from "_macros.html" import field, scroll_table %}'
        '{{ field("q", "Search", hint="Words", error="Too long") }}'
        '{% call scroll_table("Usage by day") %}<table></table>{% endcall %}'
    )
    html = template.render(csrf="tok")
    assert '<label for="f-q">Search</label>' in html
    assert 'aria-describedby="f-q-hint f-q-error"' in html and 'aria-invalid="true"' in html
    assert '<div class="table-wrap" tabindex="0" role="region" aria-label="Usage by day"><table></table></div>' in html
    assert ENV.from_string("{{ csrf_field() }}").render(csrf='"><x') == (
        '<input type="hidden" name="csrf_token" value="&#34;&gt;&lt;x">'
    )
