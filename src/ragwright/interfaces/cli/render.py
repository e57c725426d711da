"""Rich rendering of results for people; `--json` bypasses all of it."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragwright.answering.types import Answer
from ragwright.ingest.pipeline import IngestReport
from ragwright.retrieval.retriever import SearchResult

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_error(message: str) -> None:
    """One line on stderr: "error:" in red, then the message as written (paths and ids may hold square brackets)."""
    err_console.print(f"[red]error:[/] {escape(message)}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def search_to_dict(result: SearchResult) -> dict[str, Any]:
    return {
        "query": result.query,
        "mode": result.mode,
        "hits": [
            {
                "rank": h.rank,
                "score": round(h.score, 6),
                "bm25": h.bm25,
                "dense": h.dense,
                "rerank": h.rerank,
                "doc_path": h.chunk.doc_path,
                **h.chunk.passage_json(),
            }
            for h in result.hits
        ],
        "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
    }


def print_search(result: SearchResult) -> None:
    if not result.hits:
        console.print("[yellow]No matching passages.[/]")
        return
    table = Table(show_lines=False, title=f"{result.mode} search: {escape(result.query)}")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("where")
    table.add_column("passage")
    for h in result.hits:
        where = " › ".join([h.chunk.doc_path, *h.chunk.chunk.heading_path])
        if h.chunk.chunk.page is not None:
            where += f" / page {h.chunk.chunk.page}"
        text = escape(snippet(h.chunk.chunk.text))
        if h.chunk.injection is not None:  # shown, and marked: it addresses the assistant (see docs/injection.md)
            text = f"[bold red]flagged: {h.chunk.injection.value}[/] {text}"
        table.add_row(str(h.rank), f"{h.score:.3f}", escape(where), text)
    console.print(table)
    console.print(f"[dim]{result.timings_ms.get('total', 0):.1f} ms[/]")


def print_answer(answer: Answer) -> None:
    console.print(f"[bold]Q:[/] {escape(answer.question)}")
    if answer.abstained:
        console.print(f"[bold yellow]A:[/] {escape(answer.text)}")
        if answer.closest:
            console.print("[dim]Closest passages:[/]")
            for c in answer.closest:
                console.print(f"  [dim]·[/] {escape(c.location)}: {escape(snippet(c.snippet))}")
    else:
        console.print(f"[bold green]A:[/] {escape(answer.text)}")
        shown: set[int] = set()
        for c in answer.citations:
            if c.n in shown:
                continue
            shown.add(c.n)
            console.print(f"  [cyan][{c.n}][/] {escape(c.location)}")
            console.print(f"      [dim]“{escape(snippet(c.snippet, 200))}”[/]")
        for dropped in answer.flagged:
            console.print(f"  [red]dropped (unsupported):[/] {escape(dropped)}")
    total = sum(v for k, v in answer.timings_ms.items() if not k.startswith("retrieve.") or k == "retrieve.total")
    chance = "" if answer.answerability is None else f" · answerability {answer.answerability:.2f}"
    console.print(
        f"[dim]answered by {escape(answer.answered_by_label)} · support {answer.support:.2f}{chance} · "
        f"{total:.0f} ms[/]\n"
    )


def print_ingest(report: IngestReport) -> None:
    s = report.summary()
    console.print(
        f"[green]{s['added']} added[/], {s['updated']} updated, {s['unchanged']} unchanged, "
        f"{s['removed']} removed, [{'red' if s['failed'] else 'dim'}]{s['failed']} failed[/] · "
        f"{s['chunks_written']} chunks written ({s['chunks_embedded']} embedded, {s['chunks_reused']} reused) "
        f"in {s['seconds']:.1f} s"
    )
    for o in report.failures:
        err_console.print(f"  [red]skipped[/] {escape(o.doc_id)}: {escape(o.reason)}")
