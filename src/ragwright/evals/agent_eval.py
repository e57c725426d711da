"""Agent evals: run each task of a golden set through an agent and score its trajectory (``ragwright eval agent``).

The result is an ordinary eval run (:class:`~ragwright.evals.records.EvalRun`): each case record holds the task as
its question, the final answer and the trajectory metrics of :mod:`ragwright.evals.trajectory` as scores, so
``ragwright eval report``, ``compare`` and ``gate`` work on it unchanged (``wasted_calls``, ``steps``, ``tool_calls``,
``tokens`` and ``cost_usd`` count as lower-is-better). Runs approve every call (the golden tasks use read-only tools);
a case with ``inject_error`` gets a tool that fails on the given call, to measure recovery.

Example::

    run = await run_agent_eval(load_agent_cases(Path("agent_tasks.jsonl")), runner_for=lambda case: runner,
                               key=local_key("default"), model="openai:gpt-4o-mini", out=Path("agent-run.json"))
    run.summary.metrics["tool_f1"].mean
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwright.agents.records import RunLimits
from ragwright.agents.runner import AGENT_PROMPT, AgentRunner
from ragwright.agents.tools import AgentTool, Toolbox, ToolContext
from ragwright.errors import RagwrightError, UserError
from ragwright.evals.dataset import load_jsonl
from ragwright.evals.records import CaseRecord, EvalRun, RunTiming
from ragwright.evals.summary import summarize
from ragwright.evals.trajectory import AgentCase, InjectedError, trajectory_scores
from ragwright.redact import redact
from ragwright.service.keys import ApiKey

__all__ = ["load_agent_cases", "run_agent_eval", "with_injected_error"]


def load_agent_cases(path: Path) -> list[AgentCase]:
    return load_jsonl(path, AgentCase)


def with_injected_error(toolbox: Toolbox, spec: InjectedError) -> Toolbox:
    """The toolbox with ``spec.tool`` failing on its ``spec.call``-th call (a RuntimeError the model sees)."""
    tool = toolbox.get(spec.tool)
    if tool is None:
        raise UserError(f"inject_error names no tool {spec.tool!r} (tools: {', '.join(toolbox.names())})")
    count = 0

    async def flaky(ctx: ToolContext, **values: Any) -> Any:
        nonlocal count
        count += 1
        if count == spec.call:
            raise RuntimeError(f"{spec.tool} is temporarily unavailable (injected by the eval)")
        return await tool.run(ctx, values)

    failing: AgentTool = replace(tool, fn=flaky)
    return Toolbox({**toolbox.tools, spec.tool: failing})


async def run_agent_eval(
    cases: Sequence[AgentCase],
    *,
    runner_for: Callable[[AgentCase], AgentRunner],
    key: ApiKey,
    model: str,
    out: Path,
    limits: RunLimits | None = None,
    dataset: str = "",
    on_case: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every case (one at a time: agent steps are sequential anyway) and write the run to ``out``."""
    records: list[CaseRecord] = []
    started = time.perf_counter()
    agent_prompt = ""
    for i, case in enumerate(cases):
        runner = runner_for(case)
        agent_prompt = runner.prompts.resolve(key.tenant, AGENT_PROMPT, sticky=key.key_id).tag  # as the runner will
        if case.inject_error is not None:
            runner.toolbox = with_injected_error(runner.toolbox, case.inject_error)
        ctx = ToolContext(key, kb=case.knowledge_base)
        clock = time.perf_counter()
        rec = CaseRecord(id=case.id, question=case.task, tags=list(case.tags), answered_by="agent", model=model)
        try:
            run = runner.new_run(case.task, ctx, model=model, limits=limits, approve="all")
            async for _ in runner.drive(run):
                pass
        except RagwrightError as exc:
            rec.error = redact(f"{type(exc).__name__}: {exc}")
        else:
            rec.answer = run.answer or ""
            rec.scores = trajectory_scores(case, run, runner.store.calls(run.id))
        rec.timings_ms = {"pipeline": round((time.perf_counter() - clock) * 1000.0, 3)}
        records.append(rec)
        if on_case is not None:
            on_case(i + 1, len(cases))
    wall = time.perf_counter() - started
    run_out = EvalRun(
        name=out.stem,
        dataset=dataset,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config={"agent": {"model": model, "limits": _limits(limits)}},
        prompt_versions={"agent": agent_prompt} if agent_prompt else {},
        timing=RunTiming(cases_run_now=len(cases), wall_s=round(wall, 3), pipeline_s=round(wall, 3), concurrency=1),
        summary=summarize(records),
        cases=records,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run_out.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    return run_out


def _limits(limits: RunLimits | None) -> dict[str, Any]:
    lim = limits or RunLimits()
    return {f: getattr(lim, f) for f in RunLimits.__dataclass_fields__}
