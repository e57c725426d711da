"""The Evaluations page: the runs of a knowledge base, one run (status while it goes, summary, the gate's verdict,
failing cases with their retrieved passages, the HTML report embedded), two runs compared with 95% intervals, and
starting a run from a dataset when the key may.

Everything goes through :mod:`ragwright.interfaces.http.eval_ops`, the code the ``/v1/evals`` routes use.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ragwright.errors import EvalRunNotFound, RagwrightError, UserError
from ragwright.errors_http import http_error
from ragwright.evals.report import KEY_METRICS
from ragwright.interfaces.http import eval_ops as ops
from ragwright.interfaces.http.auth import get_state
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.routes.evals import REPORT_FRAME_CSP
from ragwright.service.kbs import DEFAULT_KB
from ragwright.ui.auth import UiUser, ui_read, ui_write
from ragwright.ui.pages.documents import knowledge_bases
from ragwright.ui.render import render

router = APIRouter()
KbParam = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
NameParam = Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
SHOWN_METRICS = ("hit@10", "ndcg@10", "recall@10", "mrr@10", "f1", "containment", "abstention_accuracy")


def _not_found(request: Request, user: UiUser, message: str) -> HTMLResponse:
    return render(request, "error.html", user, status_code=404, section="evals", title="Not found", message=message)


@router.get("/evals", response_class=HTMLResponse)
async def runs(request: Request, user: Annotated[UiUser, Depends(ui_read)], kb: KbParam = DEFAULT_KB) -> HTMLResponse:
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    timeout = state.service.request_timeout
    entries = await run_blocking(ops.list_runs, state.evals, user.key, tenant, timeout=timeout)
    datasets = await run_blocking(ops.list_datasets, state.evals, user.key, tenant, timeout=timeout)
    finished = [e.name for e in entries if e.status == "succeeded"]
    shown = [m for m in SHOWN_METRICS if any(e.metrics.get(m) is not None for e in entries)][:4]
    return render(
        request,
        "evals/index.html",
        user,
        section="evals",
        title="Evaluations",
        kb=kb,
        kbs=await run_blocking(knowledge_bases, state, user.key.tenant, timeout=timeout),
        runs=entries,
        finished=finished,
        metrics=shown,
        datasets=datasets,
        can_start=user.allows("write") and not user.key.scope.limited,
        start_error=request.query_params.get("start_error", "")[:500],
        evals_dir=f"evals/{tenant}",
    )


@router.post("/evals/start")
async def start(
    request: Request,
    user: Annotated[UiUser, Depends(ui_write)],
    dataset: Annotated[str, Form(max_length=100)],
    name: Annotated[str, Form(max_length=100)] = "",
    kb: Annotated[str, Form(max_length=64)] = DEFAULT_KB,
) -> Response:
    """Start a run of ``dataset``, then to the run's page (which follows it live); back with the reason if refused."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    try:
        entry = await run_blocking(
            _start, state.eval_launcher, user, tenant, kb, dataset, name.strip() or None,
            timeout=state.service.request_timeout,
        )  # fmt: skip
    except RagwrightError as exc:
        query = urlencode({"kb": kb, "start_error": http_error(exc).message})
        return RedirectResponse(f"/evals?{query}", status_code=303)
    return RedirectResponse(f"/evals/run?{urlencode({'kb': kb, 'name': entry.name})}", status_code=303)


def _start(launcher: ops.EvalLauncher, user: UiUser, tenant: str, kb: str, dataset: str, name: str | None) -> Any:
    return launcher.start(user.key, tenant, kb, dataset=dataset, name=name)


@router.get("/evals/run", response_class=HTMLResponse)
async def run_page(
    request: Request,
    user: Annotated[UiUser, Depends(ui_read)],
    name: NameParam,
    kb: KbParam = DEFAULT_KB,
    baseline: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """One run: live status while it goes; when finished its summary, gate verdict, failing cases and report."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    timeout = state.service.request_timeout
    try:
        entry = await run_blocking(ops.run_entry, state.evals, user.key, tenant, name, timeout=timeout)
    except EvalRunNotFound:
        return _not_found(request, user, f"No eval run {name!r} in knowledge base {kb!r}.")
    context: dict[str, Any] = {"kb": kb, "entry": entry, "run": None, "failing": [], "verdict": None,
                               "gate_error": "", "others": [], "baseline": baseline}  # fmt: skip
    if entry.status == "succeeded":
        run = await run_blocking(ops.read_run, state.evals, user.key, tenant, name, timeout=timeout)
        others = [e.name for e in await run_blocking(ops.list_runs, state.evals, user.key, tenant, timeout=timeout)]
        context.update(run=run, failing=ops.failing(run, 25), others=[o for o in others if o != name])
        try:
            context["verdict"] = await run_blocking(
                ops.gate_verdict, state.evals, user.key, tenant, name, baseline or None, timeout=timeout
            )
        except UserError as exc:  # a damaged gate.toml, or a baseline the key may not read
            context["gate_error"] = http_error(exc).message
    metrics = list(context["run"].summary.metrics) if context["run"] is not None else []
    context["metrics"] = [m for m in KEY_METRICS if m in metrics] + [m for m in metrics if m not in KEY_METRICS]
    return render(request, "evals/run.html", user, section="evals", title=f"Eval run {name}", **context)


@router.get("/evals/run/status", response_class=HTMLResponse)
async def run_status(
    request: Request, user: Annotated[UiUser, Depends(ui_read)], name: NameParam, kb: KbParam = DEFAULT_KB
) -> Response:
    """The status block of a run in progress (htmx polls it; a finished run makes the page reload itself)."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    try:
        entry = await run_blocking(
            ops.run_entry, state.evals, user.key, tenant, name, timeout=state.service.request_timeout
        )
    except EvalRunNotFound:
        return Response(status_code=404, headers={"X-Error-Message": f"no eval run {name!r}"})
    headers = {"HX-Refresh": "true"} if entry.status in ("succeeded", "failed") else {}
    return render(request, "evals/_status.html", user, headers=headers, kb=kb, entry=entry)


@router.get("/evals/run/report", response_class=HTMLResponse)
async def run_report(
    request: Request, user: Annotated[UiUser, Depends(ui_read)], name: NameParam, kb: KbParam = DEFAULT_KB
) -> HTMLResponse:
    """The run's HTML report, for the page's iframe (static: no script; a CSP that loads and runs nothing)."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    try:
        page = await run_blocking(
            ops.report_html, state.evals, user.key, tenant, name, timeout=state.service.request_timeout
        )
    except EvalRunNotFound:
        return _not_found(request, user, f"No finished eval run {name!r}.")
    headers = {  # the page's iframe sandboxes it (no script, same origin so it renders in the page's process)
        "Content-Security-Policy": f"{REPORT_FRAME_CSP}; frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(page, headers=headers)


@router.get("/evals/compare", response_class=HTMLResponse)
async def compare(
    request: Request,
    user: Annotated[UiUser, Depends(ui_read)],
    base: NameParam,
    new: NameParam,
    kb: KbParam = DEFAULT_KB,
) -> HTMLResponse:
    """Two runs compared on their paired cases, with the gate's verdict on the new one against the base."""
    state = get_state(request)
    tenant = user.principal.store_tenant(kb)
    timeout = state.service.request_timeout
    try:
        comparison = await run_blocking(ops.compare, state.evals, user.key, tenant, base, new, timeout=timeout)
    except EvalRunNotFound as exc:
        return _not_found(request, user, f"{exc}: both runs must have finished.")
    verdict, gate_error = None, ""
    try:
        verdict = await run_blocking(ops.gate_verdict, state.evals, user.key, tenant, new, base, timeout=timeout)
    except UserError as exc:
        gate_error = http_error(exc).message
    return render(
        request,
        "evals/compare.html",
        user,
        section="evals",
        title=f"{new} vs {base}",
        kb=kb,
        comparison=comparison,
        verdict=verdict,
        gate_error=gate_error,
    )
