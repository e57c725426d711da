"""CSRF protection for the web UI: every state-changing request carries a token bound to its session.

The token is ``HMAC-SHA256(signing secret, "csrf:" + session id)``, so it is the same for the whole session (pages
and htmx requests need no per-form state), differs per session, and cannot be made without the secret. A request
sends it as the form field ``csrf_token`` (forms: ``{{ csrf_field() }}`` from ``_macros.html``) or the header
``X-CSRF-Token`` (htmx: ``base.html`` puts it in ``hx-headers`` on ``<body>``, so every htmx request sends it; your
own ``fetch``: ``window.ragwright.csrf``). :func:`ragwright.ui.auth.page_user` checks it on every request whose
method is not GET, HEAD or OPTIONS, before the page's code runs; without it the answer is 403.

The session cookie is also SameSite=Lax, so another site's form or ``fetch`` does not carry it at all; the token is
what stops a request that does carry it (a same-site page, a browser without SameSite).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: bytes, sid: str) -> str:
    """The token of session ``sid``."""
    mac = hmac.new(secret, b"csrf:" + sid.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


async def request_token(request: Request) -> str | None:
    """The token a request sent: the header, else the ``csrf_token`` form field (forms only, never the URL)."""
    header = request.headers.get(HEADER)
    if header:
        return header
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps the parsed form: the route reads the same one
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    return None


async def csrf_ok(request: Request, secret: bytes, sid: str) -> bool:
    """Whether ``request`` may change state for session ``sid``: a safe method, or the session's token sent."""
    if request.method in SAFE_METHODS:
        return True
    sent = await request_token(request)
    return sent is not None and hmac.compare_digest(sent.encode("utf-8"), csrf_token(secret, sid).encode("utf-8"))
