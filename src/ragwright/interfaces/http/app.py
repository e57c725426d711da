"""The HTTP service's app factory.

Example::

    app = create_app(load_settings())                  # what `ragwright serve` runs under uvicorn
    app = create_app(settings, gateway=ScriptedGateway({"fake:m": FakeChatModel(["Hi"], cycle=True)}))   # in tests
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ragwright.config import Settings
from ragwright.gateway.base import ModelSource
from ragwright.interfaces.http.docs_ui import install_docs
from ragwright.interfaces.http.errors import install_error_handlers
from ragwright.interfaces.http.limits import BodyLimit
from ragwright.interfaces.http.metrics import MetricsMiddleware
from ragwright.interfaces.http.routes import (
    agents,
    chat,
    citations,
    documents,
    evals,
    extract,
    feedback,
    ops,
    prompts,
    research,
    search,
    traces,
    usage,
)
from ragwright.interfaces.http.state import ServiceState
from ragwright.models.base import Embedder
from ragwright.observability.asgi import TraceMiddleware
from ragwright.observability.requests import RequestIdMiddleware
from ragwright.service.keys import KeyStore
from ragwright.ui import install_ui

_MB = 1024 * 1024

DESCRIPTION = """Grounded, cited answers over your own documents.

Authenticate with `Authorization: Bearer <key>` (`ragwright keys create --tenant T`). Every error is
`{"error": {"type", "message"}}`. `/v1/chat/completions` and `/v1/models` follow OpenAI's API; model
`rag:<knowledge-base>` answers from the documents with citations.
"""


def create_app(
    settings: Settings,
    *,
    gateway: ModelSource | None = None,
    embedder: Embedder | None = None,
    keys: KeyStore | None = None,
) -> FastAPI:
    """Build the service. ``gateway`` replaces the one built from ``settings.gateway`` (tests pass a
    :class:`~ragwright.testing.ScriptedGateway`); either way one gateway serves every route of this process."""
    state = ServiceState(settings, gateway=gateway, embedder=embedder, keys=keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each search multiplies one query by the tenant's vector matrix: small work that a second BLAS thread only
        # spins on. With OpenBLAS's default (all cores) a hybrid search cost 27.6 ms of CPU for 13.9 ms of wall time;
        # with one thread, 13.9 ms for the same wall time, so concurrent requests get twice the CPU.
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(limits=1, user_api="blas")
        # Load the query encoder and the knowledge bases' search structures before serving, so the first requests of
        # each worker do not pay for them (under load that was a multi-second p99 on a fresh `--workers 2` server).
        await asyncio.to_thread(state.warm_up)
        try:
            yield
        finally:
            blas.restore_original_limits()
            await state.aclose()

    import ragwright

    app = FastAPI(
        title="ragwright",
        version=getattr(ragwright, "__version__", "0"),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs with local assets; ReDoc would need a CDN
        redoc_url=None,
    )
    app.state.service = state
    install_error_handlers(app)
    install_docs(app)
    for module in (
        search,
        chat,
        documents,
        evals,
        citations,
        feedback,
        ops,
        usage,
        agents,
        research,
        extract,
        prompts,
        traces,
    ):
        app.include_router(module.router)
    install_ui(app, state.settings)  # the web UI at / (docs/ui.md): after the API, so API requests match first
    app.add_middleware(
        BodyLimit, max_body=int(state.service.max_body_mb * _MB), max_upload=int(state.service.max_upload_mb * _MB)
    )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(RequestIdMiddleware)  # outermost: every response carries X-Request-Id
    app.add_middleware(TraceMiddleware)  # outermost of all: its span (and trace id) covers the whole request
    return app


def app_from_env() -> FastAPI:
    """The app for uvicorn's ``factory=True`` (``serve --workers N``): settings from ``RAGWRIGHT_*`` and the config
    file, as `ragwright serve` set them up before starting the worker processes."""
    from ragwright.config import load_settings

    return create_app(load_settings())
