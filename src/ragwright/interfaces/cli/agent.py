"""`ragwright agent run|resume|show|list`: agent runs in the terminal, streamed step by step.

A run acts as the local user (the configured tenant, read access, no tag limit). With ``--approve ask`` a call that
needs approval is put to the user at the prompt when the terminal is interactive; otherwise the run pauses, is saved,
and ``ragwright agent resume RUN --approve CALL`` (or ``--deny CALL``) goes on later, in another process too.

Deciding on a paused run goes through :func:`ragwright.agents.approvals.decide`, the rule the HTTP route, the web UI
and the MCP tools apply; the terminal's user decides as the operator of the data directory (an admin of the
configured tenant, so every run of that tenant is visible to it), while the run's tools keep acting as the key that
started it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ragwright.agents import approvals
from ragwright.agents.records import AgentEvent, CallStatus, Decision, RunStatus
from ragwright.agents.runner import AgentRunner
from ragwright.agents.service import default_limits, runs_path, tenant_agent_runner
from ragwright.agents.store import RunState, RunStore
from ragwright.agents.tools import ToolContext
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render
from ragwright.interfaces.mcp.access import local_key

agent_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print events as JSON lines.")]


def _print(event: AgentEvent, json_out: bool) -> None:
    if json_out:
        sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()  # one event per line, as it happens
        return
    d = event.data
    if event.kind == "step":
        render.console.print(f"[dim]── step {event.step}[/]")
    elif event.kind == "thought":
        render.console.print(f"[italic]{escape(d['text'])}[/]")
    elif event.kind == "tool_call":
        render.console.print(f"[cyan]→ {escape(d['name'])}[/] {escape(json.dumps(d['arguments'], ensure_ascii=False))}")
    elif event.kind == "tool_result":
        colour = "green" if d["status"] == "done" else "red"
        render.console.print(f"  [{colour}]← {d['status']}[/] [dim]{escape(render.snippet(d['output'] or '', 300))}[/]")
    elif event.kind == "approval_required":
        args = escape(json.dumps(d["arguments"], ensure_ascii=False))
        what = "outcome unknown (the process stopped while it ran)" if d["status"] == "unknown" else "needs approval"
        render.console.print(f"[yellow]⏸ {escape(d['name'])} {args}: {what} (call {escape(d['call_id'])})[/]")
    elif event.kind == "final":
        render.console.print(f"[bold green]A:[/] {escape(d.get('cited_answer') or d['answer'])}")
        for c in d.get("citations", []):
            where = " › ".join(x for x in (c["source"], c["heading"]) if x)
            render.console.print(f"  [dim][{c['n']}] {escape(where)}: {escape(render.snippet(c['snippet'], 120))}[/]")
        if d.get("unsupported"):
            render.console.print(f"  [yellow]not in any tool output: {escape(' | '.join(d['unsupported']))}[/]")
        _usage(d["usage"])
    elif event.kind == "stopped":
        render.console.print(f"[red]stopped: {escape(str(d['reason']))}[/]")
        _usage(d["usage"])
    elif event.kind == "failed":
        render.console.print(f"[red]failed: {escape(d['error'])}[/]")


def _usage(u: dict[str, Any]) -> None:
    render.console.print(
        f"[dim]{u['steps']} steps · {u['tool_calls']} tool calls · {u['tokens']} tokens · "
        f"${u['usd']:.4f} · {u['seconds']:.1f} s[/]"
    )


def _ask_human(run: RunState, store: RunStore) -> list[Decision] | None:
    """Decisions typed at the prompt, or None when the terminal is not interactive (the run stays paused)."""
    if not sys.stdin.isatty():
        return None
    decisions: list[Decision] = []
    for call in store.calls(run.id):
        if call.status is CallStatus.PENDING_APPROVAL:
            ok = typer.confirm(f"Run {call.name} {json.dumps(call.arguments)}?", default=False)
            decisions.append(Decision(call.call_id, approve=ok, reason="" if ok else "denied at the prompt"))
        elif call.status is CallStatus.UNKNOWN:
            done = typer.confirm(f"Did {call.name} {json.dumps(call.arguments)} take effect?", default=False)
            decisions.append(Decision(call.call_id, approve=done, outcome="it took effect" if done else None))
    return decisions


async def _drive(events: AsyncIterator[AgentEvent], json_out: bool) -> None:
    async for event in events:
        _print(event, json_out)


def _decide(
    rw: Ragwright, store: RunStore, run_id: str, decisions: list[Decision], json_out: bool, runner: AgentRunner | None
) -> RunState:
    """The decisions applied as the terminal's operator (:func:`approvals.decide`), each event printed as it happens;
    the run goes on with ``runner`` or, in a new process, one built like every front door builds it."""

    async def runner_for(run: RunState, lease: ExitStack) -> AgentRunner:
        return runner or await tenant_agent_runner(rw, model=run.model, tenant=run.tenant, store=store)

    def printed(event: AgentEvent) -> None:
        _print(event, json_out)

    operator = local_key(rw.settings.tenant, scopes=("admin",))
    return asyncio.run(approvals.decide(store, operator, run_id, decisions, runner_for, on_event=printed))


def _loop(
    rw: Ragwright, store: RunStore, run: RunState, json_out: bool, ask: bool, runner: AgentRunner | None = None
) -> None:
    """While the run is paused and the terminal can ask: ask, decide, go on; then say how to go on later."""
    while run.status is RunStatus.AWAITING_APPROVAL and ask:
        decisions = _ask_human(run, store)
        if decisions is None:
            break
        run = _decide(rw, store, run.id, decisions, json_out, runner)
    if run.status is RunStatus.AWAITING_APPROVAL:
        render.err_console.print(
            f"run {run.id} is paused; go on with: ragwright agent resume {run.id} --approve CALL (or --deny CALL)"
        )


@agent_app.command("run")
def run_cmd(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base the tools use.")] = "default",
    model: Annotated[str | None, typer.Option("--model", help="provider:model (default [agent].model).")] = None,
    max_usd: Annotated[float | None, typer.Option("--max-usd", help="Stop the run past this cost.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after this many model calls.")] = None,
    approve: Annotated[str | None, typer.Option("--approve", help="ask | all | none (calls needing approval).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run an agent over the knowledge base: it plans, calls tools, and answers with what they returned."""
    if approve is not None and approve not in ("ask", "all", "none"):
        raise UserError(f"--approve must be one of ask, all, none, not {approve!r}")
    rw = Ragwright(load_settings(config, data_dir=data_dir))
    try:
        runner = asyncio.run(tenant_agent_runner(rw, model=model, tenant=rw.settings.tenant))
        policy = approve or rw.settings.agent.approve
        key = local_key(rw.settings.tenant, scopes=("read",))
        limits = default_limits(rw.settings.agent, max_usd=max_usd, max_steps=max_steps)
        run = runner.new_run(task, ToolContext(key, kb=kb), model=runner.model.name, limits=limits, approve=policy)
        if not json_out:
            render.err_console.print(f"[dim]run {run.id} · {runner.model.name} · tools: {', '.join(run.tools)}[/]")
        asyncio.run(_drive(runner.drive(run), json_out))
        _loop(rw, runner.store, run, json_out, ask=policy == "ask", runner=runner)
    finally:
        rw.close()


def _decisions(approve: list[str], deny: list[str], args: str | None, outcome: str | None) -> list[Decision]:
    if args is not None and len(approve) != 1:
        raise UserError("--args edits one call: give exactly one --approve CALL with it")
    try:
        edited = json.loads(args) if args is not None else None
    except json.JSONDecodeError as exc:
        raise UserError(f"--args is not valid JSON: {exc.msg}") from None
    if edited is not None and not isinstance(edited, dict):
        raise UserError("--args must be a JSON object")
    out = [Decision(c, approve=True, arguments=edited, outcome=outcome) for c in approve]
    return out + [Decision(c, approve=False, reason="denied from the command line") for c in deny]


@agent_app.command("resume")
def resume_cmd(
    run_id: Annotated[str, typer.Argument(help="The paused run.")],
    approve: Annotated[list[str] | None, typer.Option("--approve", help="A call id to approve.")] = None,
    deny: Annotated[list[str] | None, typer.Option("--deny", help="A call id to deny.")] = None,
    args: Annotated[str | None, typer.Option("--args", help="Edited arguments (JSON) for the approved call.")] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="For a call whose outcome is unknown: what happened.")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Go on with a paused run: approve or deny its waiting calls (after a restart too; nothing runs twice)."""
    decisions = _decisions(approve or [], deny or [], args, outcome)
    rw = Ragwright(load_settings(config, data_dir=data_dir))
    store = RunStore(runs_path(rw.settings))
    try:
        store.recover()  # runs a dead process left running: paused, in-flight calls handed to a human
        run = _decide(rw, store, run_id, decisions, json_out, runner=None)
        _loop(rw, store, run, json_out, ask=run.approve == "ask")
    finally:
        store.close()
        rw.close()


@agent_app.command("show")
def show_cmd(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A run's status, answer, usage and every tool call."""
    settings = load_settings(config, data_dir=data_dir)
    store = RunStore(runs_path(settings))
    run = store.get_run(run_id, tenant=settings.tenant)
    if run is None:
        raise UserError(f"no agent run {run_id!r}")
    calls = store.calls(run_id)
    if json_out:
        data = run.to_dict()
        data.pop("messages")
        render.print_json({**data, "calls": [c.to_dict() for c in calls]})
        return
    render.console.print(f"[bold]{run.id}[/] {run.status.value} · {escape(run.model)} · {escape(run.task)}")
    for c in calls:
        render.console.print(f"  {c.call_id} {c.name} {json.dumps(c.arguments)} → {c.status.value}", markup=False)
    if run.answer:
        render.console.print(f"[bold green]A:[/] {escape(run.answer)}")
    _usage({**run.to_dict()["usage"]})


@agent_app.command("list")
def list_cmd(config: ConfigOpt = None, data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Recent runs of this tenant, newest first."""
    settings = load_settings(config, data_dir=data_dir)
    runs = RunStore(runs_path(settings)).list_runs(settings.tenant)
    if json_out:
        render.print_json([{"id": r.id, "status": r.status.value, "task": r.task} for r in runs])
        return
    for r in runs:
        render.console.print(f"{r.id} {r.status.value:<18} {escape(render.snippet(r.task, 80))}")
