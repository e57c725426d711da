"""`ragwright` commands. Each one parses options, calls the library, renders; no retrieval or answering logic here."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragwright.app import Ragwright
from ragwright.config import Settings, load_settings
from ragwright.errors import RagwrightError, UserError
from ragwright.ingest.pipeline import Progress as IngestProgress
from ragwright.interfaces.cli import render
from ragwright.observability import semconv, tracing
from ragwright.store.base import Filters

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help names config sections like [redis]: plain text, not rich markup
    help="Grounded, cited answers over your own documents, offline.",
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant whose documents to use.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PathFilter = Annotated[list[str] | None, typer.Option("--path", help="Only documents matching this glob.")]
TypeFilter = Annotated[list[str] | None, typer.Option("--type", help="Only this file type (md, pdf, ...).")]
TagFilter = Annotated[list[str] | None, typer.Option("--tag", help="Only documents with this tag.")]


def _open(config: Path | None, data_dir: Path | None, **overrides: object) -> Ragwright:
    settings: Settings = load_settings(config, data_dir=data_dir, **overrides)
    return Ragwright(settings)


def _command_span(name: str, rw: Ragwright) -> AbstractContextManager[object]:
    """The root span of one CLI operation (``cli ask``), with the tenant it acts for."""
    return tracing.stage(f"cli {name}", {semconv.TENANT: rw.settings.tenant})


def _filters(paths: list[str] | None, types: list[str] | None, tags: list[str] | None) -> Filters | None:
    f = Filters(paths=tuple(paths or ()), file_types=tuple(types or ()), tags=tuple(tags or ()))
    return f if f else None


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to index.")],
    tenant: TenantOpt = None,
    include: Annotated[list[str] | None, typer.Option(help="Only files matching this glob.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Skip files matching this glob.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag every ingested document.")] = None,
    prune: Annotated[bool, typer.Option(help="Remove indexed documents under PATHS that no longer exist.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any file fails.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Index documents: Markdown, text, HTML, PDF, DOCX and BEIR corpus.jsonl. Unchanged files are skipped."""
    rw = _open(config, data_dir, tenant=tenant)
    try:
        with (
            Progress(
                TextColumn("[bold]ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}"),
                console=render.err_console,
                transient=True,
                disable=json_out or not sys.stderr.isatty(),
            ) as bar,
            _command_span("ingest", rw),
        ):
            task = bar.add_task("ingest", total=None, rate="", current="")

            def on_progress(p: IngestProgress) -> None:
                elapsed = bar.tasks[0].elapsed or 0.0
                rate = f"{p.chunks_embedded / elapsed:.1f} chunks/s" if elapsed > 0 and p.chunks_embedded else ""
                bar.update(
                    task,
                    completed=p.files_done,
                    total=p.files_total or None,
                    rate=rate,
                    current=render.snippet(p.current, 40),
                )

            report = rw.ingest(
                paths,
                include=include or (),
                exclude=exclude or (),
                prune=prune,
                progress=on_progress,
                tags=tuple(tag or ()),
            )
    finally:
        rw.close()
    if json_out:
        render.print_json(report.summary())
    else:
        render.print_ingest(report)
    if strict and report.failures:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="How many passages.")] = 10,
    mode: Annotated[str | None, typer.Option(help="bm25, dense or hybrid (default from config).")] = None,
    path: PathFilter = None,
    file_type: TypeFilter = None,
    tag: TagFilter = None,
    tenant: TenantOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search the index and print ranked passages."""
    if mode is not None and mode not in ("bm25", "dense", "hybrid"):
        raise UserError(f"--mode must be bm25, dense or hybrid, not {mode!r}")
    rw = _open(config, data_dir, tenant=tenant)
    try:
        with _command_span("search", rw):
            result = rw.search(query, k=k, mode=mode, filters=_filters(path, file_type, tag))  # type: ignore[arg-type]
    finally:
        rw.close()
    if json_out:
        render.print_json(render.search_to_dict(result))
    else:
        render.print_search(result)


@app.command()
def ask(
    question: Annotated[list[str], typer.Argument(help="One or more questions.")],
    generator: Annotated[
        str | None,
        typer.Option(help="extractive (default), local (SmolLM2) or gateway (the configured gateway.chain)."),
    ] = None,
    path: PathFilter = None,
    file_type: TypeFilter = None,
    tag: TagFilter = None,
    tenant: TenantOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Answer questions from the indexed documents, with numbered citations, or say the documents do not say."""
    if generator is not None and generator not in ("extractive", "local", "gateway"):
        raise UserError(f"--generator must be extractive, local or gateway, not {generator!r}")
    rw = _open(config, data_dir, tenant=tenant)
    try:
        answers = []
        for q in question:
            with _command_span("ask", rw):
                answers.append(rw.ask(q, filters=_filters(path, file_type, tag), generator=generator))  # type: ignore[arg-type]
    finally:
        rw.close()
    if json_out:
        data = [a.to_dict() for a in answers]
        render.print_json(data[0] if len(data) == 1 else data)
    else:
        for a in answers:
            render.print_answer(a)


@app.command()
def docs(
    tenant: TenantOpt = None, config: ConfigOpt = None, data_dir: DataDirOpt = None, json_out: JsonOpt = False
) -> None:
    """List indexed documents."""
    rw = _open(config, data_dir, tenant=tenant)
    try:
        infos = rw.open_existing_store().documents(rw.settings.tenant)
    finally:
        rw.close()
    if json_out:
        render.print_json(
            [
                {
                    "doc_id": d.doc_id,
                    "file_type": d.file_type,
                    "title": d.title,
                    "chunks": d.n_chunks,
                    "flagged_chunks": d.flagged_chunks,
                    "tags": list(d.tags),
                    "source": d.source,
                }
                for d in infos
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"{len(infos)} documents")
    for col in ("document", "type", "chunks", "flagged", "title"):
        table.add_column(col)
    for d in infos:
        flagged = f"[bold red]{d.flagged_chunks}[/]" if d.flagged_chunks else "0"
        table.add_row(d.doc_id, d.file_type, str(d.n_chunks), flagged, render.snippet(d.title, 60))
    render.console.print(table)
    if any(d.flagged_chunks for d in infos):
        render.console.print(
            "[dim]flagged: passages that address the assistant (e.g. 'ignore the question'); they are searchable "
            "but never used to answer. See docs/injection.md.[/]"
        )


def _register_bench() -> None:
    from ragwright.interfaces.cli.bench import bench_app

    app.add_typer(bench_app, name="bench", help="Reproducible benchmarks (retrieval, answers).")
    from ragwright.interfaces.cli.keys import keys_app
    from ragwright.interfaces.cli.serve import serve

    app.add_typer(keys_app, name="keys", help="API keys for the HTTP and MCP services.")
    from ragwright.interfaces.cli.prompts import prompts_app

    app.add_typer(prompts_app, name="prompts", help="Versioned prompts: list, show, create, label, diff, A/B.")
    app.command("serve")(serve)
    from ragwright.interfaces.cli.mcp import mcp_command

    app.command("mcp")(mcp_command)
    from ragwright.interfaces.cli.gateway import gateway_app, usage

    app.add_typer(gateway_app, name="gateway", help="The LLM gateway as an OpenAI-compatible proxy.")
    app.command("usage")(usage)
    from ragwright.interfaces.cli.migrate import migrate_command

    app.command("migrate")(migrate_command)
    from ragwright.interfaces.cli.worker import worker_command

    app.command("worker")(worker_command)
    from ragwright.interfaces.cli.queue import queue_app

    app.add_typer(queue_app, name="queue", help="The ingest queue: list dead-lettered jobs, retry one.")
    from ragwright.interfaces.cli.store import store_app

    app.add_typer(store_app, name="store", help="PostgreSQL store upkeep: prewarm its indexes into shared buffers.")


def _register_eval() -> None:
    from ragwright.interfaces.cli.evals import eval_app

    app.add_typer(eval_app, name="eval", help="Evaluation: golden sets, metrics, judges, reports, compare, gate.")
    from ragwright.interfaces.cli.traces import traces_app

    app.add_typer(traces_app, name="traces", help="The local trace store: list traces, show one as a waterfall.")


def _register_agent() -> None:
    from ragwright.interfaces.cli.agent import agent_app

    app.add_typer(
        agent_app, name="agent", help="Agents: a model that calls tools, within limits, asking before acting."
    )
    from ragwright.interfaces.cli.extract import extract_command

    app.command("extract")(extract_command)
    from ragwright.interfaces.cli.research import research_command

    app.command("research")(research_command)


def main() -> None:
    _register_bench()
    _register_eval()
    _register_agent()
    try:
        app()
    except UserError as exc:
        render.print_error(str(exc))
        sys.exit(2)
    except RagwrightError as exc:
        render.print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        render.err_console.print("interrupted")
        sys.exit(130)
