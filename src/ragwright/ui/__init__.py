"""The web UI that `ragwright serve` offers at ``/``: server-rendered Jinja2 pages with htmx (docs/adr/0010-web-ui.md).

:func:`install_ui` adds it to the service app: the login/logout/home routes (:mod:`ragwright.ui.core_pages`), every
page module in :mod:`ragwright.ui.pages` (each exposes ``router``; adding a file there adds its pages), the static
files at ``/static`` (CSS, JS, vendored libraries with their licences), the handler that turns a
:class:`~ragwright.ui.auth.PageRefusal` into the login page or an error page, and the error pages the API's one error
map is shown as on UI routes (:mod:`ragwright.ui.error_pages`). UI routes are not part of the OpenAPI
document (``include_in_schema=False``); :data:`UI_TAG` marks them for the tests that enumerate routes.

docs/ui.md is the guide: using the UI, and how to add a page, a form and a browser test.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ragwright.config import Settings
from ragwright.ui import pages
from ragwright.ui.auth import PageRefusal, UiSessions
from ragwright.ui.core_pages import refusal_response
from ragwright.ui.core_pages import router as core_router
from ragwright.ui.error_pages import error_page
from ragwright.ui.render import STATIC_DIR, STATIC_PATH, route_paths

UI_TAG = "ui"
"""The tag of every UI route (tests: routes with it are checked by tests/ui/test_ui_authz.py, not the API matrix)."""

__all__ = ["UI_TAG", "install_ui", "page_modules", "ui_router"]


def page_modules() -> list[str]:
    """The page modules under :mod:`ragwright.ui.pages`, sorted by name."""
    return sorted(f"{pages.__name__}.{m.name}" for m in pkgutil.iter_modules(pages.__path__) if not m.ispkg)


def ui_router() -> APIRouter:
    """Every UI route (core pages, then each page module's ``router``), hidden from the OpenAPI document."""
    router = APIRouter(include_in_schema=False, tags=[UI_TAG])
    router.include_router(core_router)
    for name in page_modules():
        module = importlib.import_module(name)
        router.include_router(module.router)
    return router


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Serve the web UI from ``app`` (called by :func:`ragwright.interfaces.http.app.create_app`)."""
    app.state.ui_sessions = UiSessions(settings)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="ui-static")
    router = ui_router()
    app.state.ui_route_paths = route_paths(router.routes)  # which matched routes are the UI's (ui.error_pages)
    app.include_router(router)
    app.add_exception_handler(PageRefusal, refusal_response)
    app.state.error_page = error_page  # the API's error handlers show a UI page's errors as HTML (error_pages)
