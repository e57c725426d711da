"""Operations: ``GET /healthz`` (the process answers), ``GET /readyz`` (it can serve), ``GET /metrics``.

None of them needs a key and none shows tenant data. ``/metrics`` is Prometheus text with bounded labels; bind the
service to loopback or put it behind a proxy if its counts should not be public.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.state import ServiceState

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process is up and its event loop answers."""
    return {"status": "ok"}


_PROBE = "readyz/probe"
"""A tenant no key can name ('/' is not allowed in tenant or knowledge-base names; PostgreSQL refuses NUL in text)."""


def _checks(state: ServiceState) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        state.keys.list(tenant=_PROBE)
        checks["keys"] = "ok"
    except Exception as exc:
        checks["keys"] = f"error: {type(exc).__name__}"
    if state.index_exists():
        try:
            with state.pool.use() as rw:
                rw.store.stats(_PROBE)
            checks["index"] = "ok"
        except Exception as exc:
            checks["index"] = f"error: {type(exc).__name__}"
    else:
        checks["index"] = "empty"
    return checks


@router.get("/readyz", responses={503: {"description": "A dependency is failing"}})
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the key store and the index can be read."""
    state = get_state(request)
    checks: dict[str, Any] = await run_blocking(_checks, state, timeout=5.0)
    ready = all(v in ("ok", "empty") for v in checks.values())
    checks["jobs_pending"] = state.jobs.pending()
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    state = get_state(request)
    state.metrics.jobs_pending.set(state.jobs.pending())
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
