"""Swagger UI at ``/docs`` with its JavaScript, CSS and icon served by the service itself, so the page works offline.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN, and is blank without network. The assets here come from
the ``swagger-ui-bundle-v2`` package (Swagger UI 5, Apache-2.0, by the spec-first/connexion maintainers; Swagger UI 5
is the first to read the OpenAPI 3.1 that FastAPI writes), mounted at ``/docs/assets``. The app is built with
``docs_url=None`` (and ``redoc_url=None``: ReDoc also comes from a CDN and no package ships it) and then::

    install_docs(app)
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
"""The files the page loads, all under :data:`ASSETS_PATH`."""


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI for ``app``'s OpenAPI document at ``/docs``, assets included."""
    from swagger_ui_bundle import swagger_ui_path  # the swagger-ui-bundle-v2 package

    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")  # behind a proxy that strips a prefix
        js, css, icon = (f"{root}{ASSETS_PATH}/{name}" for name in ASSETS)
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - API docs",
            swagger_js_url=js,
            swagger_css_url=css,
            swagger_favicon_url=icon,
        )
