"""Agent runs over HTTP: start one (``POST /v1/agent/runs``, server-sent events), read it, approve its paused calls.

A run acts as the key that started it: its tools read what that key may read. Reading a run follows the job rule
(:meth:`ragwright.service.access.TagScope.covers`): the same tenant, and a key whose tags cover the starter's, since a
run's tool outputs quote documents. Approving or denying needs the ``approve`` scope (admin keys have it) on top.

Events (``event: <kind>``, ``data: <json>``): ``step``, ``thought``, ``tool_call``, ``tool_result``,
``approval_required`` (the run pauses; it is saved and survives a restart), ``final``, ``stopped``, ``failed``, and
``error`` if the server fails mid-stream. With ``"stream": false`` the response is the run as JSON once it ends or
pauses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragwright.agents.approvals import DecisionIn, run_summary
from ragwright.agents.records import AgentEvent
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import agent_model_name, default_limits
from ragwright.agents.store import RunState
from ragwright.agents.tools import ToolContext
from ragwright.interfaces.http.agent_runs import runner_for, visible_run, visible_runs
from ragwright.interfaces.http.auth import Principal, get_state, require_approve, require_read
from ragwright.interfaces.http.errors import translate
from ragwright.interfaces.http.schemas import ERRORS, KbName
from ragwright.interfaces.http.sse import SSE_HEADERS, sse
from ragwright.interfaces.http.state import ServiceState

router = APIRouter(tags=["agents"])
Reader = Annotated[Principal, Depends(require_read)]
Approver = Annotated[Principal, Depends(require_approve)]


class AgentRunIn(BaseModel):
    """The body of ``POST /v1/agent/runs``."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=8000)
    knowledge_base: KbName = "default"
    model: str | None = Field(None, max_length=200, description="A model GET /v1/models lists (default [agent].model).")
    max_usd: float | None = Field(None, gt=0.0, le=1000.0)
    max_steps: int | None = Field(None, ge=1, le=200)
    approve: Literal["ask", "none"] = Field(
        "ask", description="Calls that need approval: pause for a human (ask) or deny them (none)."
    )
    stream: bool = True


class ApprovalsIn(BaseModel):
    """The body of ``POST /v1/agent/runs/{run_id}/approvals``."""

    model_config = ConfigDict(extra="forbid")

    decisions: list[DecisionIn] = Field(min_length=1, max_length=50)
    stream: bool = True


def _visible(state: ServiceState, principal: Principal, run_id: str) -> RunState:
    return visible_run(state, principal.key, run_id)


def _summary(state: ServiceState, run: RunState) -> dict[str, Any]:
    return run_summary(state.agent_runs, run)


async def _runner(state: ServiceState, model: str, tenant: str, lease: ExitStack) -> AgentRunner:
    return await runner_for(state, model, tenant, lease)


async def _respond(
    state: ServiceState, run: RunState, events: AsyncIterator[AgentEvent], lease: ExitStack, stream: bool
) -> Any:
    if not stream:
        with lease:
            async for _ in events:
                pass
        return _summary(state, run)

    async def body() -> AsyncIterator[bytes]:
        with lease:
            try:
                async for event in events:
                    yield sse(event.to_dict(), event.kind)
            except Exception as exc:  # after the first byte: an explicit error event, never a silent truncation
                err = translate(exc)
                yield sse({"type": err.type, "message": err.message}, "error")

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/v1/agent/runs", responses=ERRORS)
async def start_run(body: AgentRunIn, request: Request, principal: Reader) -> Any:
    """Start an agent run as this key over one knowledge base; events stream as they happen."""
    state = get_state(request)
    principal.store_tenant(body.knowledge_base)  # a bad name is a 400 before anything runs
    model = agent_model_name(state.settings, body.model)
    limits = default_limits(state.settings.agent, max_usd=body.max_usd, max_steps=body.max_steps)
    ctx = ToolContext(principal.key, kb=body.knowledge_base)
    lease = ExitStack()
    try:
        runner = await _runner(state, model, principal.tenant, lease)
        run = runner.new_run(body.task, ctx, model=model, limits=limits, approve=body.approve)
    except BaseException:
        lease.close()
        raise
    return await _respond(state, run, runner.drive(run), lease, body.stream)


@router.get("/v1/agent/runs", responses=ERRORS)
async def list_runs(request: Request, principal: Reader) -> dict[str, Any]:
    """This tenant's recent runs that the key may read, newest first."""
    state = get_state(request)
    runs = visible_runs(state, principal.key)
    return {"data": [{"id": r.id, "status": r.status.value, "task": r.task, "created_at": r.created_at} for r in runs]}


@router.get("/v1/agent/runs/{run_id}", responses=ERRORS)
async def get_run(run_id: str, request: Request, principal: Reader) -> dict[str, Any]:
    """One run: status, answer, usage, limits and every tool call with its arguments and outcome."""
    state = get_state(request)
    return _summary(state, _visible(state, principal, run_id))


@router.post("/v1/agent/runs/{run_id}/approvals", responses=ERRORS)
async def approve_calls(run_id: str, body: ApprovalsIn, request: Request, principal: Approver) -> Any:
    """Approve (optionally with edited arguments) or deny a paused run's calls, and let it go on."""
    state = get_state(request)
    run = _visible(state, principal, run_id)
    decisions = [d.decision() for d in body.decisions]
    lease = ExitStack()
    try:
        events = (await _runner(state, run.model, run.tenant, lease)).resume(run, decisions)
        first = await anext(events)  # AgentRunError (not paused, unknown call) is a plain 409 before any byte
    except StopAsyncIteration:
        lease.close()
        return _summary(state, run)
    except BaseException:
        lease.close()
        raise

    async def chained() -> AsyncIterator[AgentEvent]:
        yield first
        async for event in events:
            yield event

    return await _respond(state, run, chained(), lease, body.stream)


__all__ = ["router"]
