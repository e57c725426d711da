"""Operations · Agent runs (``/ops/agents``, admin keys): runs of the tenant, calls waiting for a human with approve /
deny forms (approve also with edited arguments), and one run's steps with its tool calls and conversation.

Reads and decisions go through :mod:`ragwright.interfaces.http.agent_runs`, the rule ``/v1/agent/runs`` uses: runs of
the key's tenant started by keys its tags cover; deciding needs the ``approve`` grant (admin keys hold it). A
decision lets the run go on until it ends or pauses again before the page answers (the run's own limits bound that),
then the run's page shows where it stands. Forms carry the session's CSRF token like every UI form. Edited arguments
are the API's: a JSON object, checked against the tool's schema by the runner (``EditedArgumentsInvalid``), and a
refusal is shown beside the text the human typed (422).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ragwright.agents.records import CallRecord, CallStatus, Decision, RunStatus
from ragwright.agents.store import RunState
from ragwright.errors import EditedArgumentsInvalid, RagwrightError, UserError
from ragwright.interfaces.http.agent_runs import decide, visible_run, visible_runs
from ragwright.interfaces.http.auth import get_state
from ragwright.ui.auth import UiUser, ui_admin
from ragwright.ui.ops_common import blocking, ops_error, ops_render

router = APIRouter()

WAITING = (CallStatus.PENDING_APPROVAL, CallStatus.UNKNOWN)
STATUSES = tuple(s.value for s in RunStatus)


def _steps(run: RunState, calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Per step: the model's text (its thoughts or answer) and the tool calls it asked for."""
    steps: list[dict[str, Any]] = []
    assistant = [m for m in run.messages if m.role == "assistant"]
    count = max([c.step for c in calls] + [len(assistant)] + [0])
    for n in range(1, count + 1):
        text = assistant[n - 1].content if n - 1 < len(assistant) else None
        steps.append({"n": n, "text": text, "calls": [c for c in calls if c.step == n]})
    return steps


@router.get("/ops/agents")
async def runs_page(
    request: Request,
    user: UiUser = Depends(ui_admin),
    status: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    state = get_state(request)
    wanted = RunStatus(status) if status in STATUSES else None

    def read() -> tuple[list[RunState], list[tuple[RunState, list[CallRecord]]]]:
        runs = visible_runs(state, user.key, status=wanted, limit=100)
        paused = visible_runs(state, user.key, status=RunStatus.AWAITING_APPROVAL, limit=100)
        waiting = [(r, [c for c in state.agent_runs.calls(r.id) if c.status in WAITING]) for r in paused]
        return runs, waiting

    runs, waiting = await blocking(request, read)
    return ops_render(
        request,
        "ops/agents.html",
        user,
        sub="agents",
        title="Agent runs",
        runs=runs,
        waiting=waiting,
        status=status if wanted else "",
        statuses=STATUSES,
        can_decide=user.allows("approve"),
    )


@router.get("/ops/agents/{run_id}")
async def run_page(run_id: str, request: Request, user: UiUser = Depends(ui_admin)) -> Response:
    return await _run_view(request, user, run_id)


async def _run_view(
    request: Request, user: UiUser, run_id: str, *, edit: ArgumentsEdit | None = None, status_code: int = 200
) -> Response:
    """One run's page; ``edit``: arguments a human edited that were refused, shown again with the reason."""
    state = get_state(request)

    def read() -> tuple[RunState, list[CallRecord]]:
        run = visible_run(state, user.key, run_id)
        return run, state.agent_runs.calls(run.id)

    try:
        run, calls = await blocking(request, read)
    except UserError as exc:
        return ops_error(request, user, exc)
    return ops_render(
        request,
        "ops/agent_run.html",
        user,
        sub="agents",
        title=f"Agent run {run.id}",
        status_code=status_code,
        run=run,
        calls=calls,
        steps=_steps(run, calls),
        waiting=[c for c in calls if c.status in WAITING] if run.status is RunStatus.AWAITING_APPROVAL else [],
        can_decide=user.allows("approve"),
        decided=decided if (decided := request.query_params.get("decided", "")) in ("approve", "deny") else "",
        edit=edit,
    )


@dataclass(frozen=True, slots=True)
class ArgumentsEdit:
    """Edited arguments that were not accepted: the call, the text as the human typed it, and why."""

    call_id: str
    text: str
    error: str


def _edited(call_id: str, text: str) -> dict[str, Any] | ArgumentsEdit:
    """The edited arguments as the JSON object the API takes, or why the text is not one (the tool's schema is
    checked by the runner, as for ``POST /v1/agent/runs/{id}/approvals``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ArgumentsEdit(
            call_id, text, f"This is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        )
    if not isinstance(value, dict):
        return ArgumentsEdit(call_id, text, 'The arguments must be a JSON object: {"name": value, ...}.')
    return value


@router.post("/ops/agents/{run_id}/decisions")
async def decide_call(
    run_id: str,
    request: Request,
    user: UiUser = Depends(ui_admin),
    call_id: str = Form(..., min_length=1, max_length=200),
    decision: str = Form(..., pattern="^(approve|deny)$"),
    reason: str = Form("", max_length=2000),
    outcome: str = Form("", max_length=20_000),
    arguments: str = Form("", max_length=20_000),
) -> Response:
    """Approve (with the model's arguments, or edited ones from the *Edit the arguments* form) or deny a call."""
    state = get_state(request)
    approve = decision == "approve"
    edited: dict[str, Any] | None = None
    if approve and arguments.strip():
        parsed = _edited(call_id, arguments)
        if isinstance(parsed, ArgumentsEdit):
            return await _run_view(request, user, run_id, edit=parsed, status_code=422)
        edited = parsed
    choice = Decision(call_id, approve, arguments=edited, reason=reason, outcome=outcome or None)
    try:
        await decide(state, user.key, run_id, [choice])
    except EditedArgumentsInvalid as exc:  # the tool's schema refused them: shown beside the arguments
        return await _run_view(request, user, run_id, edit=ArgumentsEdit(call_id, arguments, str(exc)), status_code=422)
    except RagwrightError as exc:  # not paused any more, an unknown call, the model failing as the run went on
        return ops_error(request, user, exc)
    return RedirectResponse(f"/ops/agents/{quote(run_id)}?decided={decision}", status_code=303)
