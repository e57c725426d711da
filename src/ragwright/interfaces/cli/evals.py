"""`ragwright eval ...`: thin commands over :mod:`ragwright.evals` (import, run, report, compare, gate, calibrate)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ragwright.config import Settings, load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render
from ragwright.interfaces.cli.eval_agent import agent_eval_cmd
from ragwright.interfaces.cli.eval_calibrate import calibrate_abstention_cmd
from ragwright.interfaces.cli.eval_import import LimitOpt, import_app

if TYPE_CHECKING:
    from ragwright.app import Ragwright
    from ragwright.evals.records import EvalRun
    from ragwright.gateway.build import SyncGateway
    from ragwright.prompts.registry import PromptSource

eval_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
eval_app.add_typer(import_app, name="import", help="Convert a public benchmark into a cases.jsonl golden set.")


def _judge(
    settings: Settings,
    *,
    cache: Path | None,
    budget: float | None,
    concurrency: int,
    gateway: SyncGateway | None = None,
    prompts: PromptSource | None = None,
) -> object | None:
    """The configured judge, over ``gateway`` when the command has one (one gateway per process: the answers and
    the judge share its budgets, limits and ledger), else over a gateway of its own."""
    from ragwright.evals.judge import Judge

    spec = settings.gateway.judge
    if spec is None:
        return None
    try:
        from ragwright.gateway.build import build_chat_model
    except ImportError as exc:  # the gateway assembly is optional in a stripped install
        raise UserError(f"gateway.judge is {spec!r} but the gateway cannot be built here ({exc})") from None
    model = gateway.relayed(spec) if gateway is not None else build_chat_model(settings, spec)
    return Judge(
        model,
        cache_path=cache or settings.data_dir / "judge-cache.sqlite",
        budget_usd=budget,
        concurrency=concurrency,
        prompts=prompts,
        tenant=settings.tenant,
    )


@eval_app.command("run")
def run_cmd(
    dataset: Annotated[Path, typer.Argument(help="cases.jsonl")],
    out: Annotated[Path, typer.Option("--out", help="Run JSON to write, e.g. runs/base.json.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="ragwright.toml of the configuration under test.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory.")] = None,
    mode: Annotated[str | None, typer.Option(help="Override retrieval.mode: bm25, dense or hybrid.")] = None,
    ingest: Annotated[
        list[Path] | None, typer.Option("--ingest", help="Index these paths first (unchanged files are skipped).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Cases in flight at once.")] = 4,
    judge_cache: Annotated[Path | None, typer.Option(help="Judge cache (default DATA_DIR/judge-cache.sqlite).")] = None,
    budget: Annotated[float | None, typer.Option(help="USD the judge may spend in this run.")] = None,
    fresh: Annotated[bool, typer.Option(help="Discard a partial run of OUT instead of resuming it.")] = False,
    limit: LimitOpt = None,
    prompt: Annotated[
        list[str] | None,
        typer.Option("--prompt", help="NAME=VERSION or NAME=LABEL: render this prompt version (repeatable)."),
    ] = None,
) -> None:
    """Run every case through the pipeline and the metrics; resumes an interrupted run of the same OUT."""
    from ragwright.app import Ragwright
    from ragwright.evals.dataset import load_cases
    from ragwright.evals.judge import Judge
    from ragwright.evals.runner import run_eval

    if mode is not None and mode not in ("bm25", "dense", "hybrid"):
        raise UserError(f"--mode must be bm25, dense or hybrid, not {mode!r}")
    cases = load_cases(dataset)[:limit] if limit else load_cases(dataset)
    settings = load_settings(config, data_dir=data_dir)
    if mode is not None:
        settings = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"mode": mode})})
    rw = Ragwright(settings)
    rw.prompt_pins = _pins(rw, prompt or [])
    gateway = rw.gateway if settings.gateway.judge else None  # the judge shares the answers' gateway
    judge = _judge(
        settings, cache=judge_cache, budget=budget, concurrency=concurrency, gateway=gateway, prompts=rw.prompt_source
    )
    assert judge is None or isinstance(judge, Judge)
    try:
        if ingest:
            s = rw.ingest(ingest).summary()
            render.err_console.print(
                f"ingest: {s['added']} added, {s['updated']} updated, {s['unchanged']} "
                f"unchanged, {s['failed']} failed ({s['seconds']} s)"
            )
        with Progress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cases"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=render.err_console,
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("eval", total=len(cases))

            def on_case(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            async def evaluate() -> EvalRun:
                try:
                    return await run_eval(
                        cases,
                        rw=rw,
                        out=out,
                        judge=judge,
                        concurrency=concurrency,
                        dataset=str(dataset),
                        fresh=fresh,
                        on_case=on_case,
                    )
                finally:
                    if judge is not None:
                        await judge.aclose()

            run = asyncio.run(evaluate())
    finally:
        rw.close()
    _print_summary(run)
    render.err_console.print(f"run -> {out}", markup=False)


def _pins(rw: Ragwright, specs: list[str]) -> dict[str, int | str]:
    """``--prompt NAME=VERSION|LABEL`` options as pins, each checked against the registry now (a typo fails here)."""
    pins: dict[str, int | str] = {}
    for spec in specs:
        name, sep, ref = spec.partition("=")
        if not sep or not name.strip() or not ref.strip():
            raise UserError(f"--prompt takes NAME=VERSION or NAME=LABEL, e.g. answer=2, not {spec!r}")
        version = rw.prompts.get(rw.settings.tenant, name.strip(), ref.strip())
        pins[version.name] = version.version
    return pins


def _print_summary(run: EvalRun) -> None:
    summary = run.summary
    table = Table(
        title=f"{run.name}: {summary.cases} cases, {summary.abstained} abstained, "
        f"{summary.pipeline_errors} pipeline errors"
    )
    for col in ("metric", "mean", "n", "errors"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, m in summary.metrics.items():
        mean = "-" if m.mean is None else f"{m.mean:.4f}"
        table.add_row(name, mean, str(m.n), f"[red]{m.errors}[/]" if m.errors else "0")
    render.console.print(table)
    lat, judge = summary.latency_ms, summary.judge
    render.console.print(
        f"latency p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms; judge calls {judge.calls} "
        f"({judge.cached} cached), ${judge.cost_usd:.4f}, "
        f"{judge.tokens_per_1k_questions:.0f} tokens and "
        f"${judge.cost_per_1k_questions_usd:.4f} per 1,000 questions"
    )
    if run.judge_note:
        render.console.print(f"[yellow]note:[/] {escape(run.judge_note)}")


@eval_app.command("compare")
def compare_cmd(
    base: Annotated[Path, typer.Argument(help="Baseline run JSON.")],
    new: Annotated[Path, typer.Argument(help="New run JSON.")],
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Only these metrics.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-metric delta NEW - BASE on the paired cases, bootstrap 95% interval (seed 0) and a verdict."""
    from ragwright.evals.compare import compare_prompts, compare_runs
    from ragwright.evals.runner import load_run

    base_run, new_run = load_run(base), load_run(new)
    deltas = compare_runs(base_run, new_run, metrics=metric or None)
    prompts = compare_prompts(base_run, new_run)
    if json_out:
        render.print_json({"metrics": [d.to_dict() for d in deltas], "prompts": [p.to_dict() for p in prompts]})
        return
    versions = Table(title="prompt versions")
    for col in ("prompt", "base", "new", ""):
        versions.add_column(col)
    for p in prompts:
        versions.add_row(p.name, p.base or "-", p.new or "-", "[yellow]changed[/]" if p.changed else "")
    render.console.print(versions)
    table = Table(title=f"{new.name} vs {base.name}")
    for col in ("metric", "base", "new", "delta", "95% CI", "n", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    colour = {"better": "green", "worse": "red"}
    for d in deltas:
        c = colour.get(d.verdict, "white")
        table.add_row(
            d.metric,
            f"{d.base:.4f}",
            f"{d.new:.4f}",
            f"{d.delta:+.4f}",
            f"[{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]",
            str(d.n),
            f"[{c}]{d.verdict}[/]",
        )
    render.console.print(table)


@eval_app.command("gate")
def gate_cmd(
    new: Annotated[Path, typer.Argument(help="Run JSON to check.")],
    policy: Annotated[Path, typer.Option("--policy", help="gate.toml: floors and regression tolerances.")],
    baseline: Annotated[Path | None, typer.Option("--baseline", help="Baseline run JSON.")] = None,
) -> None:
    """Exit 1 when a metric is under its floor or regresses beyond tolerance (95% CI excluding zero); else 0."""
    from ragwright.evals.compare import gate, load_policy
    from ragwright.evals.runner import load_run

    result = gate(load_run(new), load_policy(policy), load_run(baseline) if baseline is not None else None)
    for line in result.passes:
        render.console.print(f"[green]pass[/] {escape(line)}")
    for line in result.inconclusive:
        render.console.print(f"[yellow]INCONCLUSIVE[/] {escape(line)}")
    for line in result.failures:
        render.console.print(f"[red]FAIL[/] {escape(line)}")
    verdict = "passed" if result.ok else f"failed ({len(result.failures)} checks)"
    if result.ok and result.inconclusive:
        verdict += f", {len(result.inconclusive)} inconclusive (set fail_on_inconclusive = true to fail on them)"
    render.console.print(f"gate: {verdict}")
    if not result.ok:
        raise typer.Exit(1)


@eval_app.command("report")
def report_cmd(
    run_file: Annotated[Path, typer.Argument(help="Run JSON.")],
    html_out: Annotated[Path, typer.Option("--html", help="Write the self-contained HTML report here.")],
) -> None:
    """Summary, per-tag breakdown, score distributions (inline SVG) and failing cases, in one HTML file."""
    from ragwright.evals.report import render_html
    from ragwright.evals.runner import load_run

    html_out.parent.mkdir(parents=True, exist_ok=True)
    html_out.write_text(render_html(load_run(run_file)), encoding="utf-8")
    render.err_console.print(f"report -> {html_out}", markup=False)


@eval_app.command("calibrate")
def calibrate_cmd(
    labels: Annotated[Path, typer.Option("--labels", help="JSONL of human judgements (support or relevance).")],
    config: Annotated[Path | None, typer.Option("--config", help="ragwright.toml naming gateway.judge.")] = None,
    judge_cache: Annotated[Path | None, typer.Option(help="Judge cache (default DATA_DIR/judge-cache.sqlite).")] = None,
    budget: Annotated[float | None, typer.Option(help="USD the judge may spend.")] = None,
) -> None:
    """Agreement between the configured judge and human labels: accuracy and Cohen's kappa, per kind and overall."""
    from ragwright.evals.calibrate import calibrate, load_labels
    from ragwright.evals.judge import Judge

    items = load_labels(labels)
    settings = load_settings(config)
    judge = _judge(settings, cache=judge_cache, budget=budget, concurrency=4)
    if judge is None:
        raise UserError('calibrate needs a judge model: set gateway.judge (e.g. "openai:gpt-4o-mini") in the config')
    assert isinstance(judge, Judge)

    async def go() -> dict[str, object]:
        try:
            return await calibrate(items, judge)
        finally:
            await judge.aclose()

    report = asyncio.run(go())
    render.print_json(report)


@eval_app.command("pairwise")
def pairwise_cmd(
    base: Annotated[Path, typer.Argument(help="Baseline run JSON.")],
    new: Annotated[Path, typer.Argument(help="New run JSON.")],
    config: Annotated[Path | None, typer.Option("--config", help="ragwright.toml naming gateway.judge.")] = None,
    judge_cache: Annotated[Path | None, typer.Option(help="Judge cache (default DATA_DIR/judge-cache.sqlite).")] = None,
    budget: Annotated[float | None, typer.Option(help="USD the judge may spend.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Judge calls in flight.")] = 4,
) -> None:
    """Which run's answers the judge prefers, case by case, asked in both orders (disagreement is a tie)."""
    from ragwright.evals.judge import Judge
    from ragwright.evals.pairwise import PairwiseResult, pairwise_runs
    from ragwright.evals.runner import load_run

    runs = load_run(base), load_run(new)
    judge = _judge(load_settings(config), cache=judge_cache, budget=budget, concurrency=concurrency)
    if judge is None:
        raise UserError('pairwise needs a judge model: set gateway.judge (e.g. "openai:gpt-4o-mini") in the config')
    assert isinstance(judge, Judge)

    async def go() -> PairwiseResult:
        try:
            return await pairwise_runs(*runs, judge)
        finally:
            await judge.aclose()

    result = asyncio.run(go())
    render.print_json(result.to_json(per_case=False))


eval_app.command("agent")(agent_eval_cmd)
eval_app.command("calibrate-abstention")(calibrate_abstention_cmd)
