"""`ragwright traces list|show ID`: the local trace store in the terminal (a waterfall of stages, chunks, attempts).

The local operator sees every tenant's traces, and chunk text read from the index (never from the trace store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ragwright.config import Settings, load_settings
from ragwright.errors import NotIndexedError, TraceNotFound
from ragwright.interfaces.cli import render
from ragwright.observability import semconv
from ragwright.observability.trace_store import open_trace_store
from ragwright.observability.views import TraceView, summary_dict, trace_view
from ragwright.redact import quote_id

traces_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BAR = 32


def _settings(config: Path | None, data_dir: Path | None) -> Settings:
    settings = load_settings(config, data_dir=data_dir)
    if not settings.trace_store_path.exists():
        raise NotIndexedError(
            f"no trace store at {settings.trace_store_path}: set tracing = 'local' in the observability section of "
            "ragwright.toml (or RAGWRIGHT_OBSERVABILITY__TRACING=local), then run a command"
        )
    return settings


@traces_app.command("list")
def list_traces(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's traces.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many, newest first.")] = 20,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The newest traces: root span, tenant, duration, spans, errors, model cost."""
    store = open_trace_store(_settings(config, data_dir))
    try:
        traces = store.list(tenant=tenant, limit=limit)
    finally:
        store.close()
    if json_out:
        render.print_json([summary_dict(t) for t in traces])
        return
    table = Table(title=f"{len(traces)} traces")
    for col in ("trace id", "started", "root", "tenant", "ms", "spans", "errors", "cost $"):
        table.add_column(col)
    for t in traces:
        d = summary_dict(t)
        cost = "" if t.cost_usd is None else f"{t.cost_usd:.6f}"
        table.add_row(t.trace_id, d["started_at"][:23], t.root, t.tenant or "", f"{t.duration_ms:.1f}",
                      str(t.spans), str(t.errors), cost)  # fmt: skip
    render.console.print(table)


@traces_app.command("show")
def show(
    trace_id: Annotated[str, typer.Argument(help="A trace id from `ragwright traces list` (32 hex digits).")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One trace as a waterfall: each stage's start and duration, the chunks retrieved and their scores, every model
    attempt with its tokens and cost."""
    settings = _settings(config, data_dir)
    store = open_trace_store(settings)
    try:
        detail = store.get(trace_id.strip().lower(), tenant=None)
    finally:
        store.close()
    if detail is None:
        raise TraceNotFound(f"no trace {quote_id(trace_id)} in {settings.trace_store_path}")
    view = trace_view(detail, fetch=_fetcher(settings), scope=None)
    if json_out:
        render.print_json(view.to_dict())
    else:
        print_waterfall(view)


def _fetcher(settings: Settings) -> Any:
    if not settings.index_path.exists() and not settings.uses_postgres:
        return None
    from ragwright.app import Ragwright

    def fetch(tenant: str, ids: Any) -> Any:
        rw = Ragwright(settings)
        try:
            return rw.store.get(tenant, list(ids))
        finally:
            rw.close()

    return fetch


def print_waterfall(view: TraceView) -> None:
    """The trace's spans as an indented tree with a bar per span, then the retrieved chunks."""
    s = view.summary
    total = max(s.duration_ms, 1e-9)
    cost = "" if s.cost_usd is None else f", ${s.cost_usd:.6f}"
    render.console.print(
        f"[bold]{s.root}[/] trace {s.trace_id} tenant {s.tenant or '-'}: {s.duration_ms:.1f} ms, {s.spans} spans"
        f"{cost}; {view.uncovered_share:.1%} of the time outside leaf stages"
    )
    table = Table(show_edge=False, pad_edge=False)
    for col in ("stage", "start ms", "ms", "", "details"):
        table.add_column(col, no_wrap=col != "details")
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {sp["span_id"] for sp in view.spans}
    for sp in view.spans:
        children.setdefault(sp["parent_id"] if sp["parent_id"] in ids else None, []).append(sp)

    def walk(parent: str | None, depth: int) -> None:
        for sp in children.get(parent, []):
            start, dur = sp["start_ms"], sp["duration_ms"]
            left = int(BAR * max(0.0, start) / total)
            width = max(1, int(BAR * dur / total))
            bar = Text(" " * left + "█" * min(width, BAR - left), style="red" if sp["status"] == "error" else "cyan")
            name = Text("  " * depth + sp["name"], style="red" if sp["status"] == "error" else "")
            table.add_row(name, f"{start:.1f}", f"{dur:.1f}", bar, _details(sp))
            walk(sp["span_id"], depth + 1)

    walk(None, 0)
    render.console.print(table)
    if view.chunks:
        chunks = Table(title="chunks retrieved", show_edge=False)
        for col in ("rank", "score", "document", "chunk", "text"):
            chunks.add_column(col, no_wrap=col != "text")
        for c in view.chunks:
            text = render.snippet(c.text, 100) if c.text else "[dim](not available)[/]"
            chunks.add_row(str(c.rank), f"{c.score:.4f}", c.doc_id, c.chunk_id[:12], text)
        render.console.print(chunks)


def _details(sp: dict[str, Any]) -> str:
    a = sp["attributes"]
    parts: list[str] = []
    if semconv.PROVIDER in a:
        parts.append(f"{a[semconv.PROVIDER]}:{a.get(semconv.REQUEST_MODEL, '')}")
        parts.append(f"retry {a.get(semconv.RETRY, 0)} fallback {a.get(semconv.FALLBACK_POSITION, 0)}")
        parts.append(f"breaker {a.get(semconv.BREAKER, '?')}")
    if semconv.INPUT_TOKENS in a:
        parts.append(f"tokens {a[semconv.INPUT_TOKENS]} in / {a.get(semconv.OUTPUT_TOKENS, 0)} out")
        cached = a.get(semconv.CACHE_READ_TOKENS, 0)
        if cached:
            parts.append(f"{cached} cached")
    if a.get(semconv.CACHE_HIT):
        parts.append("cache hit")
    if semconv.COST_USD in a:
        parts.append(f"${float(a[semconv.COST_USD]):.6f}")
    if semconv.PROMPT_NAME in a:
        parts.append(f"prompt {a[semconv.PROMPT_NAME]} v{a.get(semconv.PROMPT_VERSION, '?')}")
    if "ragwright.answerability" in a:
        parts.append(f"answerability {float(a['ragwright.answerability']):.3f}")
    if "http.response.status_code" in a:
        parts.append(f"status {a['http.response.status_code']}")
    if sp.get("error"):
        parts.append(f"[red]{render.snippet(str(sp['error']), 80)}[/]")
    return ", ".join(parts)
