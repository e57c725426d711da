"""``research``: one research run over a :class:`~ragwright.app.Ragwright`, as an agent run, then its checked report.

The run is an ordinary agent run (:mod:`ragwright.research.planner` is its model): it is stored in
``agents.sqlite``, its searches go through the runner's dispatch point with the caller's key (tenant, tags), its
limits apply, and ``ragwright agent show RUN`` shows it. When it ends, the report the model wrote is checked claim by
claim (:mod:`ragwright.research.report`).

Example::

    outcome = await research(rw, "How do I descale the kettle, and is that covered by the warranty?",
                             ToolContext(local_key("acme")), kbs=["default", "support"])
    print(outcome.report.to_markdown())
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from ragwright.agents.evidence import collect_passages
from ragwright.agents.kb_tools import kb_tools
from ragwright.agents.records import AgentEvent, RunLimits, RunStatus
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import agent_model_name, runs_path
from ragwright.agents.store import RunState, RunStore
from ragwright.agents.tools import AgentTool, Toolbox, ToolContext
from ragwright.app import Ragwright
from ragwright.errors import AgentRunError
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.models.base import Embedder
from ragwright.research.planner import ResearchPlanner
from ragwright.research.report import ResearchReport, check_report

__all__ = ["ResearchOutcome", "finish_research", "research", "research_runner", "start_research"]


@dataclass
class ResearchOutcome:
    """The run (usage, calls, status) and its checked report."""

    run: RunState
    report: ResearchReport


def research_runner(
    rw: Ragwright,
    *,
    kbs: Sequence[str] = ("default",),
    sources: Sequence[AgentTool] = (),
    model: str | None = None,
    max_sub_queries: int = 4,
    store: RunStore | None = None,
) -> AgentRunner:
    """A runner whose model is the research planner over ``rw``'s gateway; its tools are ``search`` (and the rest of
    the knowledge-base tools) plus ``sources``, tools of configured MCP servers that take a ``query``."""
    name = agent_model_name(rw.settings, model)
    small = name.startswith("local:")  # a 2,048-token window: fewer, shorter passages in the report prompt
    planner = ResearchPlanner(
        rw.gateway.relayed(name),
        kbs=kbs,
        sources=[s.name for s in sources],
        max_sub_queries=max_sub_queries,
        k=2 if small else 4,
        passage_chars=2_400 if small else 12_000,
        max_tokens=400 if small else 700,
        prompts=rw.prompt_source,
    )
    tools = Toolbox.of([*kb_tools(RagTools(rw)), *sources])
    store = store or RunStore(runs_path(rw.settings))
    # the final answer is the report (JSON): its claims are checked by research.report, not as sentences
    return AgentRunner(planner, tools, store, prompts=rw.prompt_source, check_answers=False)


def start_research(runner: AgentRunner, question: str, ctx: ToolContext, limits: RunLimits | None = None) -> RunState:
    """A new research run of ``runner`` (drive it with ``runner.drive(run)``, then :func:`finish_research`)."""
    # sources that need approval are denied, not waited for: a research run does not pause for a human
    return runner.new_run(question, ctx, model=runner.model.name, limits=limits, approve="none")


def finish_research(runner: AgentRunner, run: RunState, embedder: Embedder) -> ResearchOutcome:
    """The checked report of a research run that has been driven to its end; AgentRunError when it ended without
    one (a limit, a failure)."""
    if run.status is not RunStatus.DONE:
        reason = run.stop_reason.value if run.stop_reason else run.error or run.status.value
        raise AgentRunError(f"research run {run.id} ended without a report: {reason}")
    # the passages the report prompt showed, numbered the same
    planner = runner.model
    passages = planner.shown(run.messages) if isinstance(planner, ResearchPlanner) else collect_passages(run.messages)
    report = check_report(run.task, run.answer or "", passages, embedder)
    return ResearchOutcome(run, report)


async def research(
    rw: Ragwright,
    question: str,
    ctx: ToolContext,
    *,
    kbs: Sequence[str] = ("default",),
    sources: Sequence[AgentTool] = (),
    model: str | None = None,
    max_sub_queries: int = 4,
    limits: RunLimits | None = None,
    on_event: Callable[[AgentEvent], None] | None = None,
    runner: AgentRunner | None = None,
) -> ResearchOutcome:
    """Plan, search every knowledge base in ``kbs`` (and each source), write and check the report."""
    runner = runner or research_runner(rw, kbs=kbs, sources=sources, model=model, max_sub_queries=max_sub_queries)
    run = start_research(runner, question, ctx, limits)
    events: AsyncIterator[AgentEvent] = runner.drive(run)
    async for event in events:
        if on_event is not None:
            on_event(event)
    return finish_research(runner, run, rw.embedder)
