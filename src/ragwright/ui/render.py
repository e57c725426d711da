"""Rendering the web UI's pages: one Jinja2 environment over the package's templates, the shared layout's context, and
the security headers every page carries.

Example (a page module in ``ragwright/ui/pages/``)::

    @router.get("/chat")
    async def chat(request: Request, user: UiUser = Depends(ui_read)) -> HTMLResponse:
        return render(request, "chat/index.html", user, section="chat", title="Chat", kbs=[...])

Templates extend ``base.html`` (nav, skip link, logout, the CSRF header for htmx) and import what they need from
``_macros.html`` (``csrf_field()``, ``field()``...). ``asset("css/app.css")`` is the URL of a static file with a
content hash in its query, so a new release is never served from a stale browser cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.runtime
import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from ragwright.ui.auth import UiUser

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PATH = "/static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",  # no inline scripts: page code lives in static/js/*.js
        "style-src 'self' 'unsafe-inline'",  # style attributes (pdf.js text layers, progress widths)
        "img-src 'self' data: blob:",
        "worker-src 'self' blob:",  # pdf.js's worker
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold tenant data: never kept by a shared cache or the back button
}


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the main navigation, shown to keys with ``scope`` (the scope its page's route requires)."""

    label: str
    path: str
    section: str
    scope: str = "read"


NAV = (
    NavItem("Chat", "/chat", "chat"),
    NavItem("Documents", "/documents", "documents"),
    NavItem("Evaluations", "/evals", "evals"),
    NavItem("Operations", "/ops", "ops", scope="admin"),
)


@cache
def _hash(relative: str) -> str:
    return hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:10]


def asset(relative: str) -> str:
    """The URL of ``static/<relative>`` with its content hash (``/static/css/app.css?v=1a2b3c4d5e``)."""
    return f"{STATIC_PATH}/{relative}?v={_hash(relative)}"


@jinja2.pass_context
def csrf_field(context: jinja2.runtime.Context) -> markupsafe.Markup:
    """``{{ csrf_field() }}``: the hidden input every ``<form method="post">`` of the UI includes."""
    return markupsafe.Markup('<input type="hidden" name="csrf_token" value="{}">').format(context.get("csrf", ""))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails the page (and its test), never renders blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset
    env.globals["csrf_field"] = csrf_field
    return env


ENV = _environment()


def route_paths(routes: Iterable[Any], prefix: str = "") -> set[str]:
    """The paths of ``routes``, routers included by ``include_router`` walked into (FastAPI >= 0.160 keeps them)."""
    paths: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):
            paths |= route_paths(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "path"):
            paths.add(prefix + route.path)
    return paths


def nav_for(request: Request, user: UiUser | None) -> list[NavItem]:
    """The entries this user may open among the pages this app serves (a page whose module is absent is not shown)."""
    if user is None:
        return []
    state = request.app.state
    paths: set[str] | None = getattr(state, "ui_paths", None)
    if paths is None:
        paths = state.ui_paths = route_paths(request.app.routes)
    return [item for item in NAV if item.path in paths and user.allows(item.scope)]


def render(
    request: Request,
    template: str,
    user: UiUser | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the layout's context (user, nav, CSRF token, active ``section``) and ``context``."""
    context.setdefault("section", "")
    context.setdefault("title", "ragwright")
    html = ENV.get_template(template).render(
        request=request,
        user=user,
        nav=nav_for(request, user),
        csrf=user.csrf if user is not None else "",
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
