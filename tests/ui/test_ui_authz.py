"""Every web UI route, found in the real app: who may use it, and that a state-changing request needs its CSRF token.

The API's matrix (tests/http/test_authz_matrix.py) skips routes tagged ``ui``: they authenticate with the session
cookie, not a bearer key, and are checked here instead, generically, so a new page is covered the moment it exists:

- each route either depends on one of ragwright.ui.auth's ``ui_*`` dependencies (its scope is read from it) or is
  one of the :data:`PUBLIC` routes;
- without a session: a page is a redirect to the login page (htmx: 401 with ``HX-Redirect``), whatever the method;
- with a key lacking the scope: 403 (sent with a valid CSRF token, so it is the scope that refuses);
- a POST/PUT/PATCH/DELETE with a valid session and no token, or a wrong one: 403, before the page's code runs.

No request here reaches a page's own code with a key allowed to use it: the checks are about the doors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.interfaces.http.app import create_app
from ragwright.ui import UI_TAG
from tests.http.conftest import clean_env, make_settings, run_server

PUBLIC = {"GET /login", "POST /login"}
"""UI routes anyone may call (the login form); every other one needs a session."""
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class UiRoute:
    """One method and path of the UI and the scope it needs (None: any live key; "public": no session)."""

    method: str
    path: str
    scope: str | None

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "x", self.path)  # any value: the doors are checked before the page looks at it

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _scopes(dependant: Any) -> list[str | None]:
    found = []
    for dep in dependant.dependencies:
        if hasattr(dep.call, "ui_scope"):
            found.append(dep.call.ui_scope)
        found.extend(_scopes(dep))
    return found


def ui_routes(routes: list[Any], prefix: str = "", inside: bool = False) -> list[UiRoute]:
    """The UI's routes of an app (those under a router tagged ``ui``), with their scopes."""
    out: list[UiRoute] = []
    for route in routes:
        if hasattr(route, "original_router"):
            ui = inside or UI_TAG in route.original_router.tags
            out += ui_routes(route.original_router.routes, prefix + route.include_context.prefix, ui)
        elif inside and getattr(route, "methods", None):
            for method in sorted(route.methods - {"HEAD"}):
                name = f"{method} {prefix}{route.path}"
                scopes = _scopes(route.dependant)
                if name in PUBLIC:
                    assert not scopes, f"{name} is public but depends on {scopes}"
                    out.append(UiRoute(method, prefix + route.path, "public"))
                    continue
                assert len(scopes) == 1, f"{name} must depend on exactly one ragwright.ui.auth ui_* dependency"
                out.append(UiRoute(method, prefix + route.path, scopes[0]))
    return out


@dataclass
class World:
    url: str
    app: Any
    keys: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("ui-authz")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        clean_env(mp)
        app = create_app(make_settings(Path(tmp) / "index", rate_limit_rpm=None))
        store = app.state.service.keys
        keys = {
            name: store.create("acme", scopes=scopes, name=name)[0]
            for name, scopes in (
                ("read", ("read",)),
                ("write", ("read", "write")),
                ("admin", ("admin",)),
                ("approve", ("approve",)),
            )
        }
        for url in run_server(app):
            yield World(url, app, keys)


def session(world: World, role: str) -> tuple[httpx.Client, str]:
    """A client logged in with ``role``'s key, and its CSRF token."""
    c = httpx.Client(base_url=world.url, timeout=30)
    r = c.post("/login", data={"key": world.keys[role], "next": "/"})
    assert r.status_code == 303 and "rw_session" in c.cookies, r.text
    page = c.get("/", follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return c, token.group(1)


def lacking(scope: str | None) -> str | None:
    """A role whose key lacks ``scope`` (None when every key has it)."""
    return {"read": "approve", "write": "read", "admin": "write", "approve": "write"}.get(scope or "")


def test_every_ui_route_declares_who_may_use_it(world: World) -> None:
    routes = ui_routes(list(world.app.routes))
    names = {str(r) for r in routes}
    assert {"GET /login", "POST /login", "POST /logout", "GET /"} <= names
    assert "/login" not in world.app.openapi()["paths"]  # UI routes stay out of the API's document
    for route in routes:
        assert route.scope in ("public", None, "read", "write", "admin", "approve"), route


def test_without_a_session_every_page_sends_the_browser_to_log_in(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        for route in ui_routes(list(world.app.routes)):
            if route.scope == "public":
                continue
            r = c.request(route.method, route.url)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (str(route), r)
            h = c.request(route.method, route.url, headers={"HX-Request": "true", "HX-Current-URL": world.url + "/"})
            assert h.status_code == 401 and h.headers["HX-Redirect"].startswith("/login?next="), (str(route), h)


def test_a_key_without_the_scope_is_refused(world: World) -> None:
    clients = {role: session(world, role) for role in ("read", "write", "approve")}
    try:
        for route in ui_routes(list(world.app.routes)):
            role = lacking(route.scope) if route.scope != "public" else None
            if role is None:
                continue
            c, token = clients[role]
            r = c.request(route.method, route.url, headers={"X-CSRF-Token": token})
            assert r.status_code == 403, (str(route), role, r.status_code)
            assert "does not have" in r.text and r.headers["content-type"].startswith("text/html")
    finally:
        for c, _ in clients.values():
            c.close()


def test_a_state_changing_request_without_its_csrf_token_is_refused(world: World) -> None:
    c, token = session(world, "admin")
    other, other_token = session(world, "admin")  # another session of the same key: its token is not this one's
    try:
        assert other_token != token
        for route in ui_routes(list(world.app.routes)):
            if route.method not in UNSAFE or route.scope == "public":
                continue
            for headers, data in (({}, None), ({}, {"csrf_token": "forged"}), ({"X-CSRF-Token": other_token}, None)):
                r = c.request(route.method, route.url, headers=headers, data=data)
                assert r.status_code == 403, (str(route), headers, data, r.status_code)
                assert "security token" in r.text
        # and the token itself works, as a form field or as the header htmx sends
        assert c.post("/logout", data={"csrf_token": token}).status_code == 303
        assert c.get("/").status_code == 303  # logged out: the cookie is gone
    finally:
        c.close()
        other.close()


def test_a_login_form_from_another_site_is_refused(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        r = c.post("/login", data={"key": world.keys["admin"]}, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and "rw_session" not in c.cookies
        ok = c.post("/login", data={"key": world.keys["admin"]}, headers={"Origin": world.url})
        assert ok.status_code == 303 and "rw_session" in c.cookies


def test_login_never_redirects_off_site(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
            r = c.post("/login", data={"key": world.keys["read"], "next": target})
            assert r.status_code == 303 and r.headers["location"] == "/", target
