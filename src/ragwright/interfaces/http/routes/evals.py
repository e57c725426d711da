"""Eval runs of a knowledge base: ``GET /v1/evals/runs`` (list), ``POST /v1/evals/runs`` (start one from a dataset),
``GET /v1/evals/runs/{name}`` (summary and failing cases with their retrieved passages),
``GET /v1/evals/runs/{name}/report`` (the HTML report), ``GET /v1/evals/runs/{name}/gate`` (the gate's verdict),
``GET /v1/evals/compare`` (two runs, per-metric deltas with 95% intervals) and ``GET /v1/evals/datasets``.

Runs and datasets are files under ``<data_dir>/evals/<knowledge base>/`` (:mod:`ragwright.evals.run_store`); who
may read and start what is :mod:`ragwright.interfaces.http.eval_ops`, which the web UI uses too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ragwright.evals.run_store import RunEntry
from ragwright.interfaces.http import eval_ops as ops
from ragwright.interfaces.http.auth import Principal, get_state, require_read, require_write
from ragwright.interfaces.http.limits import run_blocking
from ragwright.interfaces.http.schemas import ERRORS, KbName

router = APIRouter(tags=["evaluations"])
Reader = Annotated[Principal, Depends(require_read)]
Writer = Annotated[Principal, Depends(require_write)]
KbQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base.")]
RunName = Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="A run's name.")]
REPORT_FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""The report is a static page (inline CSS and SVG, no script): it may load nothing and run nothing."""
REPORT_CSP = f"{REPORT_FRAME_CSP}; sandbox"
"""Opened on its own, it is also sandboxed (the web UI's iframe sandboxes it with the ``sandbox`` attribute)."""


class RunOut(BaseModel):
    """One eval run as listed: status, progress and headline numbers."""

    object: Literal["eval.run"] = "eval.run"
    name: str
    status: Literal["queued", "running", "succeeded", "failed"]
    dataset: str
    finished_at: str
    cases: int
    cases_done: int
    metrics: dict[str, float | None]
    error: str | None = None

    @classmethod
    def of(cls, e: RunEntry) -> RunOut:
        return cls(
            name=e.name,
            status=e.status,
            dataset=e.dataset,
            finished_at=e.finished_at,
            cases=e.cases,
            cases_done=e.cases_done,
            metrics=e.metrics,
            error=e.error,
        )


class RunList(BaseModel):
    """The knowledge base's runs the key may read, newest first."""

    object: Literal["list"] = "list"
    data: list[RunOut]


class RunDetail(BaseModel):
    """A finished run: configuration, prompt versions, summary, and its failing cases (worst first), each with the
    question, answer, scores and retrieved passages."""

    object: Literal["eval.run.detail"] = "eval.run.detail"
    name: str
    dataset: str
    finished_at: str
    config: dict[str, Any]
    prompt_versions: dict[str, str]
    judge_note: str | None
    summary: dict[str, Any]
    failing: list[dict[str, Any]]


class ComparisonOut(BaseModel):
    """``new`` against ``base`` on their paired cases: per metric the delta, its 95% bootstrap interval, a verdict."""

    object: Literal["eval.comparison"] = "eval.comparison"
    base: str
    new: str
    metrics: list[dict[str, Any]]
    prompts: list[dict[str, Any]]


class GateOut(BaseModel):
    """The gate's verdict: ``passed`` is null when the knowledge base has no gate policy (``policy`` says where)."""

    object: Literal["eval.gate"] = "eval.gate"
    run: str
    baseline: str | None
    policy: str
    passed: bool | None
    failures: list[str]
    passes: list[str]
    inconclusive: list[str]


class DatasetList(BaseModel):
    """Datasets a run can be started from."""

    object: Literal["list"] = "list"
    data: list[str]


class StartRunIn(BaseModel):
    """The body of ``POST /v1/evals/runs``."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="Default: dataset-time.")
    knowledge_base: KbName = "default"


def _timeout(request: Request) -> float:
    return get_state(request).service.request_timeout


@router.get("/v1/evals/runs", response_model=RunList, responses=ERRORS)
async def list_runs(request: Request, principal: Reader, knowledge_base: KbQuery = "default") -> RunList:
    """The knowledge base's eval runs that the key may read (finished, running, failed), newest first."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    entries = await run_blocking(ops.list_runs, state.evals, principal.key, tenant, timeout=_timeout(request))
    return RunList(data=[RunOut.of(e) for e in entries])


@router.post("/v1/evals/runs", status_code=202, response_model=RunOut, responses=ERRORS)
async def start_run(body: StartRunIn, request: Request, principal: Writer) -> JSONResponse:
    """Start a run of a dataset (``write`` scope); poll ``GET /v1/evals/runs/{name}/status`` until it has finished."""
    state, tenant = get_state(request), principal.store_tenant(body.knowledge_base)
    entry = await run_blocking(
        _start, state.eval_launcher, principal, tenant, body.knowledge_base, body.dataset, body.name,
        timeout=_timeout(request),
    )  # fmt: skip
    out = RunOut.of(entry)
    return JSONResponse(out.model_dump(), status_code=202, headers={"Location": f"/v1/evals/runs/{out.name}/status"})


def _start(
    launcher: ops.EvalLauncher, principal: Principal, tenant: str, kb: str, dataset: str, name: str | None
) -> RunEntry:
    return launcher.start(principal.key, tenant, kb, dataset=dataset, name=name)


@router.get("/v1/evals/runs/{name}/status", response_model=RunOut, responses=ERRORS)
async def run_status(name: str, request: Request, principal: Reader, knowledge_base: KbQuery = "default") -> RunOut:
    """One run's status and progress (cases done of cases), for polling."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    entry = await run_blocking(ops.run_entry, state.evals, principal.key, tenant, name, timeout=_timeout(request))
    return RunOut.of(entry)


@router.get("/v1/evals/runs/{name}", response_model=RunDetail, responses=ERRORS)
async def get_run(name: str, request: Request, principal: Reader, knowledge_base: KbQuery = "default") -> RunDetail:
    """A finished run: its summary and its failing cases with their retrieved passages."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    run = await run_blocking(ops.read_run, state.evals, principal.key, tenant, name, timeout=_timeout(request))
    return RunDetail(
        name=name,
        dataset=run.dataset,
        finished_at=run.finished_at,
        config=run.config,
        prompt_versions=run.prompt_versions,
        judge_note=run.judge_note,
        summary=run.summary.to_json(),
        failing=[c.to_json() for c in ops.failing(run)],
    )


@router.get("/v1/evals/runs/{name}/report", response_class=HTMLResponse, responses=ERRORS)
async def run_report(
    name: str, request: Request, principal: Reader, knowledge_base: KbQuery = "default"
) -> HTMLResponse:
    """The run's self-contained HTML report (no script; served under a CSP that loads and runs nothing)."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    page = await run_blocking(ops.report_html, state.evals, principal.key, tenant, name, timeout=_timeout(request))
    return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"})


@router.get("/v1/evals/runs/{name}/gate", response_model=GateOut, responses=ERRORS)
async def run_gate(
    name: str,
    request: Request,
    principal: Reader,
    knowledge_base: KbQuery = "default",
    baseline: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")] = None,
) -> GateOut:
    """The gate's verdict on the run (the knowledge base's ``gate.toml``), against ``baseline`` when given."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    v = await run_blocking(
        ops.gate_verdict, state.evals, principal.key, tenant, name, baseline, timeout=_timeout(request)
    )
    r = v.result
    return GateOut(
        run=v.run,
        baseline=v.baseline,
        policy=v.policy_path,
        passed=None if r is None else r.ok,
        failures=[] if r is None else r.failures,
        passes=[] if r is None else r.passes,
        inconclusive=[] if r is None else r.inconclusive,
    )


@router.get("/v1/evals/compare", response_model=ComparisonOut, responses=ERRORS)
async def compare_runs(
    request: Request, principal: Reader, base: RunName, new: RunName, knowledge_base: KbQuery = "default"
) -> ComparisonOut:
    """``new`` against ``base``: per-metric delta on the paired cases, bootstrap 95% interval (seed 0), verdict."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    c = await run_blocking(ops.compare, state.evals, principal.key, tenant, base, new, timeout=_timeout(request))
    return ComparisonOut(
        base=c.base, new=c.new, metrics=[d.to_dict() for d in c.metrics], prompts=[p.to_dict() for p in c.prompts]
    )


@router.get("/v1/evals/datasets", response_model=DatasetList, responses=ERRORS)
async def list_datasets(request: Request, principal: Reader, knowledge_base: KbQuery = "default") -> DatasetList:
    """The knowledge base's datasets (``<data_dir>/evals/<knowledge base>/datasets/*.jsonl``); none for a tag-limited
    key (datasets are not limited by tags)."""
    state, tenant = get_state(request), principal.store_tenant(knowledge_base)
    names = await run_blocking(ops.list_datasets, state.evals, principal.key, tenant, timeout=_timeout(request))
    return DatasetList(data=names)
