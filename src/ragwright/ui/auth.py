"""Who is using the web UI: the session cookie resolved to a live API key, on every request, with CSRF and scope checks.

Every UI route except the login page and static files depends on one of :data:`ui_read`, :data:`ui_write`,
:data:`ui_admin` or :data:`ui_approve` (the key's scope that the page needs: ``admin`` pages are the Operations
views), or :data:`ui_any` (any live key: home, logout). The dependency, in order:

1. reads the signed cookie (:mod:`ragwright.ui.session`); none, forged or expired: to the login page; a session
   ended by logging out (:mod:`ragwright.service.ended_sessions`: Redis with replicas, else the service database),
   also when it comes from a copy of the cookie: to the login page;
2. with ``[redis]``, reads the deployment's key version, exactly as the API does (:mod:`ragwright.sharedstate.
   revocation`), then reads the key by id from the key store, uncached: a revoked key (from the UI, the API or
   ``ragwright keys revoke`` on any host) ends every session of it on their next request, on every replica;
3. applies the key's rate limit, as the API does;
4. on a state-changing method, checks the CSRF token (:mod:`ragwright.ui.csrf`): none or wrong is 403;
5. checks the scope: a key without it gets 403 (and the nav never shows it the page).

A refusal is :class:`PageRefusal`: a plain browser request is redirected to ``/login?next=...``; an htmx request gets
401 with ``HX-Redirect`` (htmx then loads the login page instead of swapping the fragment).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ragwright.config import Settings
from ragwright.errors import ConfigError
from ragwright.interfaces.http.auth import Principal, get_state
from ragwright.observability.requests import identify
from ragwright.observability.tracing import annotate_caller
from ragwright.service.keys import ApiKey
from ragwright.ui.csrf import csrf_ok, csrf_token
from ragwright.ui.session import COOKIE, Session, SessionCodec, signing_secret

LOGIN_PATH = "/login"


class Refusal(enum.Enum):
    """Why a UI request was not served (what the login or error page tells the user)."""

    LOGIN = "login"  # no session
    EXPIRED = "expired"  # the session ran out
    REVOKED = "revoked"  # the key was revoked (or deleted) since login
    LOGGED_OUT = "logged_out"  # the session was ended by logging out (a copy of its cookie)
    CSRF = "csrf"  # a state-changing request without its session's token
    FORBIDDEN = "forbidden"  # the key lacks the page's scope
    UNAVAILABLE = "unavailable"  # the UI cannot sign sessions here (replicas without a shared secret)


class PageRefusal(Exception):
    """Raised by the UI's dependencies; rendered by :func:`ragwright.ui.core_pages.refusal_response`."""

    def __init__(self, reason: Refusal, detail: str = "", *, user: UiUser | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail
        self.user = user  # known for FORBIDDEN: the error page keeps the user's nav


@dataclass(frozen=True)
class UiUser:
    """The verified user of one UI request: their key (public facts only), session and CSRF token."""

    key: ApiKey
    session: Session
    csrf: str

    @property
    def principal(self) -> Principal:
        """The same caller object the API's routes get: tenant, tag filters, store tenant, request context."""
        return Principal(self.key)

    @property
    def is_admin(self) -> bool:
        return self.key.allows("admin")

    def allows(self, scope: str) -> bool:
        return self.key.allows(scope)


class UiSessions:
    """The app's session codec, made on first use (a missing shared secret must not stop the API from serving)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._codec: SessionCodec | None = None

    def codec(self) -> SessionCodec:
        if self._codec is None:
            try:
                secret = signing_secret(self.settings)
            except ConfigError as exc:
                raise PageRefusal(Refusal.UNAVAILABLE, str(exc)) from None
            self._codec = SessionCodec(secret, max_age=self.settings.ui.session_hours * 3600)
        return self._codec

    def secure(self, request: Request) -> bool:
        """Whether the cookie gets ``Secure``: ``[ui] secure_cookie``, else whether this request came over https."""
        configured = self.settings.ui.secure_cookie
        return configured if configured is not None else request.url.scheme == "https"

    def set_cookie(self, request: Request, response: Response, session: Session) -> None:
        codec = self.codec()
        response.set_cookie(
            COOKIE,
            codec.dumps(session),
            max_age=int(codec.max_age),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
        )

    def clear_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure(request))


def ui_sessions(request: Request) -> UiSessions:
    sessions: UiSessions = request.app.state.ui_sessions
    return sessions


async def current_user(request: Request, scope: str | None) -> UiUser:
    """The checks of the module docstring, in order; raises :class:`PageRefusal`."""
    sessions = ui_sessions(request)
    codec = sessions.codec()
    cookie = request.cookies.get(COOKIE)
    session = codec.loads(cookie)
    if session is None:
        raise PageRefusal(Refusal.EXPIRED if codec.expired(cookie) else Refusal.LOGIN)
    state = get_state(request)
    if await state.ended_sessions.is_ended(session.sid):
        raise PageRefusal(Refusal.LOGGED_OUT)
    if state.key_versions is not None:
        await state.key_versions.refresh(state.keys)  # Redis unreachable: 503, as for the API (fail closed)
    key = state.keys.get(session.key_id)
    if key is None or key.revoked:
        raise PageRefusal(Refusal.REVOKED)
    identify(key.tenant, key.key_id)
    annotate_caller(key.tenant, key.key_id)
    await state.limiter.check(key.key_id)
    if not await csrf_ok(request, codec.secret, session.sid):
        raise PageRefusal(Refusal.CSRF)
    user = UiUser(key=key, session=session, csrf=csrf_token(codec.secret, session.sid))
    request.state.ui_user = user  # an error page later in this request keeps the user's layout (ui.error_pages)
    if scope is not None and not key.allows(scope):
        raise PageRefusal(Refusal.FORBIDDEN, scope, user=user)
    return user


def page_user(scope: str | None) -> Callable[[Request], Awaitable[UiUser]]:
    """A dependency giving the :class:`UiUser` of a request whose key has ``scope`` (read, write, admin, approve;
    None: any live key, e.g. logging out)."""

    async def dependency(request: Request) -> UiUser:
        return await current_user(request, scope)

    dependency.ui_scope = scope  # type: ignore[attr-defined]  # read by tests/ui/test_ui_authz.py
    return dependency


ui_any = page_user(None)
ui_read = page_user("read")
ui_write = page_user("write")
ui_admin = page_user("admin")
ui_approve = page_user("approve")


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site (``/chat?kb=x``), else ``/``: the login form never redirects away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def login_redirect(request: Request, reason: Refusal) -> Response:
    """Send the browser to the login page, remembering where it was (for htmx: the page, not the fragment)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("HX-Request") == "true":
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else "/"
    if request.method != "GET" and request.headers.get("HX-Request") != "true":
        here = "/"
    target = f"{LOGIN_PATH}?next={quote(safe_next(here), safe='')}"
    if reason in _ENDED:
        target += f"&reason={reason.value}"
    if request.headers.get("HX-Request") == "true":
        response: Response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if reason in _ENDED:
        ui_sessions(request).clear_cookie(request, response)
    return response


_ENDED = (Refusal.EXPIRED, Refusal.REVOKED, Refusal.LOGGED_OUT)
"""Refusals of a session that existed: the login page says why and the browser's cookie is deleted."""
