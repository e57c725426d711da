"""Errors inside the web UI shown as pages: the API's one error map (:mod:`ragwright.interfaces.http.errors`) decides
the status and the message; this module only decides how a UI request sees them.

- a page the browser navigated to (a UI route, or an unknown path outside ``/v1``, asked for with ``Accept:
  text/html``) gets ``error.html`` in the UI's layout: the status, a plain message, the request id and a link back;
- an htmx request to a UI route gets a small HTML fragment (``role="alert"``) and the ``X-Error-Message`` header,
  which ``app.js`` shows in the page's live region;
- everything else keeps the JSON body: every ``/v1`` route whatever it asks for, the API's other routes
  (``/healthz``, ``/docs``), static files, and the pages' own ``fetch`` calls (they read the JSON error).

A message is the error map's: a library error's own text, redacted, or for anything unexpected "internal error
(incident ...)" with the details only in the server log. No traceback reaches a page.

Example::

    app.state.error_page = error_page      # install_ui does this; the API's handlers call it first
"""

from __future__ import annotations

import enum
from typing import Any

import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from ragwright.errors import RagwrightError
from ragwright.interfaces.http.errors import ApiError
from ragwright.observability.requests import current_request_id
from ragwright.ui.auth import PageRefusal, UiUser, current_user
from ragwright.ui.render import NAV, STATIC_PATH, render
from ragwright.ui.session import COOKIE

__all__ = ["ErrorView", "back_link", "error_page", "error_view", "page_facts"]

TITLES = {
    400: "That did not work",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    422: "That did not work",
    429: "Too many requests",
    503: "Unavailable",
}


class ErrorView(enum.Enum):
    """How a UI request sees an error."""

    PAGE = "page"
    FRAGMENT = "fragment"


def _ui_paths(request: Request) -> set[str]:
    """The UI's route paths (``install_ui`` records them): a matched route among them is a page of the UI."""
    paths: set[str] = getattr(request.app.state, "ui_route_paths", set())
    return paths


def error_view(request: Request) -> ErrorView | None:
    """How ``request`` should see an error (the module's rules); None: the JSON body."""
    path = request.url.path
    if path == "/v1" or path.startswith(("/v1/", STATIC_PATH + "/")):
        return None
    route = request.scope.get("route")
    if route is not None and getattr(route, "path", None) not in _ui_paths(request):
        return None  # an API route outside /v1 (/healthz, /metrics, /docs, /openapi.json)
    if request.headers.get("HX-Request") == "true":
        return ErrorView.FRAGMENT if route is not None else None
    if "text/html" in request.headers.get("accept", ""):
        return ErrorView.PAGE
    return None


def back_link(path: str, status: int) -> tuple[str, str]:
    """Where the error page's link goes: the landing page of the section ``path`` is in, else the start page (also
    after a 403, when the section itself may be what the key lacks)."""
    if status != 403:
        for item in NAV:
            if path == item.path or path.startswith(item.path + "/"):
                return item.path, f"Back to {item.label}"
    return "/", "Back to the start page"


async def _user(request: Request) -> UiUser | None:
    """The user of this request: known when a page's dependency ran; for an unknown path, the session's, if any."""
    user: UiUser | None = getattr(request.state, "ui_user", None)
    if user is None and COOKIE in request.cookies and request.method in ("GET", "HEAD"):
        try:
            user = await current_user(request, None)
        except (PageRefusal, RagwrightError):  # no live session, or no way to check it now: the page without a nav
            return None
    return user


async def error_page(request: Request, err: ApiError) -> Response | None:
    """``err`` as an HTML page or fragment when ``request`` is the UI's (:func:`error_view`), else None."""
    view = error_view(request)
    if view is None:
        return None
    request_id = current_request_id() or ""
    title = TITLES.get(err.status, "Something went wrong")
    # header values must be latin-1; the page and the fragment carry the full message
    headers = {**err.headers, "X-Error-Message": err.message.encode("ascii", "replace").decode("ascii")}
    if view is ErrorView.FRAGMENT:
        html = markupsafe.Markup(
            '<p class="notice notice-error" role="alert">{} <span class="muted">(request {})</span></p>'
        ).format(err.message, request_id)
        return HTMLResponse(str(html), status_code=err.status, headers=headers)
    return render(
        request,
        "error.html",
        await _user(request),
        status_code=err.status,
        headers=headers,
        title=title,
        message=err.message,
        **page_facts(request, err.status),
    )


def page_facts(request: Request, status: int) -> dict[str, Any]:
    """What every error page shows besides its message: the status, the request id and the link back."""
    href, label = back_link(request.url.path, status)
    return {"status": status, "request_id": current_request_id() or "", "back_href": href, "back_label": label}
