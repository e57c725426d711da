"""``POST /v1/research``: a research run over HTTP, as ``ragwright research`` runs it (:mod:`ragwright.research`).

The run acts as the key (tenant, tags: a tag-limited key's searches never see other documents), searches every
knowledge base named, and ends with a report whose every claim was checked against the passages it cites. Events
(server-sent, as for agent runs): ``step``, ``thought`` (the sub-queries), ``tool_call``, ``tool_result`` (each
search), ``final`` (the model's report as written), then ``report`` (the checked report: sections of claims with
their citations, what could not be found, the dropped claims, the passages, ``citation_precision`` and the
``run_id``), or ``stopped`` / ``failed`` and ``error``. With ``"stream": false`` the response is the ``report`` as
JSON. The run is stored like any agent run: ``GET /v1/agent/runs/{run_id}`` shows its searches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragwright.agents.service import agent_model_name, default_limits
from ragwright.agents.tools import ToolContext
from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.errors import translate
from ragwright.interfaces.http.schemas import ERRORS, KbName
from ragwright.interfaces.http.sse import SSE_HEADERS, sse
from ragwright.research.service import finish_research, research_runner, start_research

router = APIRouter(tags=["agents"])
Reader = Annotated[Principal, Depends(require_read)]


class ResearchIn(BaseModel):
    """The body of ``POST /v1/research``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    knowledge_bases: list[KbName] = Field(default_factory=lambda: ["default"], min_length=1, max_length=8)
    model: str | None = Field(None, max_length=200, description="A model GET /v1/models lists (default [agent].model).")
    max_sub_queries: int = Field(4, ge=1, le=10)
    max_usd: float | None = Field(None, gt=0.0, le=1000.0)
    stream: bool = True


@router.post("/v1/research", responses=ERRORS)
async def research(body: ResearchIn, request: Request, principal: Reader) -> Any:
    """Research a question across knowledge bases as this key; a report whose every claim cites its passages."""
    state = get_state(request)
    for kb in body.knowledge_bases:
        principal.store_tenant(kb)  # a bad name is a 400 before anything runs
    model = agent_model_name(state.settings, body.model)
    state.chat_model(model)  # only models GET /v1/models lists
    limits = default_limits(state.settings.agent, max_usd=body.max_usd)
    ctx = ToolContext(principal.key, kb=body.knowledge_bases[0])
    lease = ExitStack()
    try:
        rw = lease.enter_context(state.pool.use())  # the run's searches use this index even if it is refreshed
        runner = research_runner(
            rw, kbs=body.knowledge_bases, model=model, max_sub_queries=body.max_sub_queries, store=state.agent_runs
        )
        run = start_research(runner, body.question, ctx, limits)
    except BaseException:
        lease.close()
        raise

    async def events() -> AsyncIterator[tuple[str, dict[str, Any]]]:
        async for event in runner.drive(run):
            yield event.kind, event.to_dict()
        outcome = finish_research(runner, run, rw.embedder)
        yield "report", {"run_id": run.id, **outcome.report.to_dict()}

    if not body.stream:
        with lease:
            report: dict[str, Any] = {}
            async for kind, data in events():
                report = data if kind == "report" else report
        return report

    async def stream() -> AsyncIterator[bytes]:
        with lease:
            try:
                async for kind, data in events():
                    yield sse(data, kind)
            except Exception as exc:  # after the first byte: an explicit error event, never a silent truncation
                err = translate(exc)
                yield sse({"type": err.type, "message": err.message}, "error")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)


__all__ = ["router"]
