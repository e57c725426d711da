"""The UI's own pages: log in with an API key, log out, the home page, and how a refused request is answered.

``POST /login`` verifies the key with the service's key store through the same path as the API's bearer keys
(``ServiceState.verify_key``: the Redis revocation version first when configured) and, when it is live, sets the
session cookie (:mod:`ragwright.ui.session`) and redirects to ``next`` (a path on this site only). A bad key gets the
login page again with an error, status 401, and no cookie. The raw key is never stored, logged or put in the cookie.

A login form posted from another site is refused (403) by its ``Origin`` header: there is no session yet to bind a
CSRF token to, and a forged login would put the victim in the attacker's tenant.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ragwright.interfaces.http.auth import get_state
from ragwright.ui.auth import (
    LOGIN_PATH,
    PageRefusal,
    Refusal,
    UiUser,
    current_user,
    login_redirect,
    safe_next,
    ui_any,
    ui_sessions,
)
from ragwright.ui.error_pages import page_facts
from ragwright.ui.render import nav_for, render
from ragwright.ui.session import COOKIE, Session

router = APIRouter()

NOTICES = {
    "expired": "Your session expired. Log in again to continue.",
    "revoked": "Your session ended: the key it used was revoked. Log in with another key.",
    "logged_out": "You are logged out.",
}
REFUSED = {
    Refusal.CSRF: (
        403,
        "Request refused",
        "This request did not carry this page's security token. Reload the page and try again.",
    ),
    Refusal.FORBIDDEN: (403, "Not allowed", "Your API key does not have the scope this page needs."),
    Refusal.UNAVAILABLE: (503, "The web interface is not set up", ""),
}


async def refusal_response(request: Request, exc: Exception) -> Response:
    """The answer to a :class:`PageRefusal`: the login page for a missing or ended session, else an error page."""
    assert isinstance(exc, PageRefusal)
    if exc.reason in (Refusal.LOGIN, Refusal.EXPIRED, Refusal.REVOKED, Refusal.LOGGED_OUT):
        return login_redirect(request, exc.reason)
    status, title, message = REFUSED[exc.reason]
    if exc.reason is Refusal.FORBIDDEN:
        message = f"Your API key does not have the {exc.detail!r} scope this page needs."
    elif exc.reason is Refusal.UNAVAILABLE:
        message = exc.detail
    # htmx does not swap an error response: app.js shows this header in the page's live region instead
    headers = {"X-Error-Message": message.encode("ascii", "replace").decode("ascii")}
    facts = page_facts(request, status)
    return render(
        request, "error.html", exc.user, status_code=status, title=title, message=message, headers=headers, **facts
    )


def _same_origin(request: Request) -> bool:
    """True unless the browser says the form came from another origin (a missing Origin is a non-browser client)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc == host


async def _signed_in(request: Request) -> UiUser | None:
    if COOKIE not in request.cookies:
        return None
    try:
        return await current_user(request, None)
    except PageRefusal:
        return None


@router.get(LOGIN_PATH, response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/", reason: str = "") -> Response:
    if await _signed_in(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request, "login.html", None, title="Log in", next=safe_next(next), notice=NOTICES.get(reason, ""), error=""
    )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(request: Request, key: str = Form(""), next: str = Form("/")) -> Response:
    if not _same_origin(request):
        return render(
            request,
            "error.html",
            None,
            status_code=403,
            title="Request refused",
            message="This login form was sent from another site.",
        )
    sessions = ui_sessions(request)
    sessions.codec()  # a deployment that cannot sign sessions says so before checking any key
    verified = await get_state(request).verify_key(key.strip()) if key.strip() else None
    if verified is None:
        return render(
            request,
            "login.html",
            None,
            status_code=401,
            title="Log in",
            next=safe_next(next),
            notice="",
            error="That API key is not valid, or it has been revoked.",
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_cookie(request, response, Session.new(verified.key_id))
    return response


@router.post("/logout")
async def logout(request: Request, user: UiUser = Depends(ui_any)) -> Response:
    """End the session on the server (a copy of the cookie is refused from now on, on every process and replica)
    and delete the cookie."""
    sessions = ui_sessions(request)
    await get_state(request).ended_sessions.end(user.session.sid, until=time.time() + sessions.codec().max_age)
    response = RedirectResponse(f"{LOGIN_PATH}?reason=logged_out", status_code=303)
    sessions.clear_cookie(request, response)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: UiUser = Depends(ui_any)) -> Response:
    """The first page the user may open (Chat for most keys); a key that may open none gets the home page."""
    items = nav_for(request, user)
    if items:
        return RedirectResponse(items[0].path, status_code=303)
    return render(request, "home.html", user, title="Home")
