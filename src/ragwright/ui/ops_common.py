"""What the Operations pages (``/ops/...``, admin keys only) share: their sub-navigation, rendering, error pages.

Every Operations page depends on :data:`~ragwright.ui.auth.ui_admin` and reads through the same service functions as
the JSON API, with the session's key: its tenant, its tags (:mod:`ragwright.service.access`) and, for decisions on
agent runs, the ``approve`` grant. A library error becomes the error page with the status the one error map gives it
(:func:`ragwright.errors_http.http_error`): a key, trace or run out of reach is a 404 page, like one that does not
exist.

Example (a page module)::

    @router.get("/ops/keys")
    async def keys_page(request: Request, user: UiUser = Depends(ui_admin)) -> Response:
        return ops_render(request, "ops/keys.html", user, sub="keys", title="Keys", keys=[...])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse

from ragwright.errors_http import http_error
from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.limits import run_blocking
from ragwright.ui.auth import UiUser
from ragwright.ui.render import ENV, render

__all__ = ["SUBNAV", "OpsLink", "blocking", "ops_error", "ops_render"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OpsLink:
    """One entry of the Operations sub-navigation."""

    key: str
    label: str
    path: str


SUBNAV = (
    OpsLink("overview", "Overview", "/ops"),
    OpsLink("keys", "Keys", "/ops/keys"),
    OpsLink("usage", "Usage and cost", "/ops/usage"),
    OpsLink("traces", "Traces", "/ops/traces"),
    OpsLink("prompts", "Prompts", "/ops/prompts"),
    OpsLink("agents", "Agent runs", "/ops/agents"),
)


def _when(ts: float | None) -> str:
    """An epoch time as ``2026-12-03 19:05:02 UTC`` (pages show UTC, as the ledger and traces record it)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


ENV.filters.setdefault("utc", _when)
ENV.filters.setdefault("usd", _usd)


def ops_render(
    request: Request, template: str, user: UiUser, *, sub: str, title: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render an Operations page (``templates/ops/*.html``, which extend ``ops/_layout.html``)."""
    return render(
        request, template, user, status_code=status_code, section="ops", title=title, subnav=SUBNAV, sub=sub, **context
    )


def ops_error(request: Request, user: UiUser, exc: BaseException) -> HTMLResponse:
    """The error page for a library error, with its status from the one error map (404 for what is out of reach)."""
    err = http_error(exc)
    title = "Not found" if err.status == 404 else "Not allowed" if err.status == 403 else "Something went wrong"
    return render(request, "error.html", user, status_code=err.status, title=title, message=err.message)


async def blocking(request: Request, fn: Callable[[], T]) -> T:
    """``fn`` on a worker thread, within the service's request timeout (key stores, ledgers and trace files block)."""
    state = get_state(request)
    return await run_blocking(fn, timeout=state.service.request_timeout)
