"""`ragwright eval agent TASKS --out RUN`: run a golden set of agent tasks and score the trajectories."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragwright.config import load_settings
from ragwright.interfaces.cli import render

METRICS = ("goal_success", "tool_f1", "tool_order", "wasted_calls", "recovered", "steps", "tokens", "cost_usd")


def agent_eval_cmd(
    tasks: Annotated[Path, typer.Argument(help="Agent tasks (JSONL), e.g. examples/agent_tasks.jsonl.")],
    out: Annotated[Path, typer.Option("--out", help="Run JSON to write (report, compare and gate read it).")],
    model: Annotated[str | None, typer.Option("--model", help="provider:model (default [agent].model).")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Steps per task.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only tasks with this tag (e.g. heldout).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory.")] = None,
) -> None:
    """Run each agent task and score its trajectory: tool-call precision/recall/F1, order, wasted calls, recovery
    after an injected tool error, steps, tokens, cost and goal success."""
    from ragwright.agents.service import agent_model_name, agent_runner, default_limits
    from ragwright.agents.store import RunStore
    from ragwright.app import Ragwright
    from ragwright.evals.agent_eval import load_agent_cases, run_agent_eval
    from ragwright.interfaces.mcp.access import local_key

    cases = [c for c in load_agent_cases(tasks) if tag is None or tag in c.tags]
    settings = load_settings(config, data_dir=data_dir)
    rw = Ragwright(settings)
    store = RunStore(out.with_suffix(".agents.sqlite"))
    name = agent_model_name(settings, model)
    try:
        with Progress(
            TextColumn("[bold]agent eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=render.err_console,
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("agent", total=len(cases))
            run = asyncio.run(
                run_agent_eval(
                    cases,
                    runner_for=lambda case: agent_runner(rw, model=name, store=store),
                    key=local_key(settings.tenant, scopes=("read",)),
                    model=name,
                    out=out,
                    limits=default_limits(settings.agent, max_steps=max_steps),
                    dataset=str(tasks),
                    on_case=lambda done, total: bar.update(task, completed=done, total=total),
                )
            )
    finally:
        store.close()
        rw.close()
    for metric in METRICS:
        m = run.summary.metrics.get(metric)
        if m is not None and m.mean is not None:
            render.console.print(f"{metric:<14} {m.mean:8.3f}  (n={m.n})")
    errors = sum(1 for c in run.cases if c.error is not None)
    if errors:
        render.console.print(f"[red]{errors} task(s) failed to run[/] (see the run JSON)")
    render.err_console.print(f"run -> {out}", markup=False)
