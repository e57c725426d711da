"""`ragwright eval import ...`: public benchmarks and the chat page's ratings as ``cases.jsonl`` golden sets.

Thin commands over :mod:`ragwright.evals.importers`; ``ragwright eval`` (:mod:`.evals`) mounts them as ``import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render

__all__ = ["LimitOpt", "import_app"]

import_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

OutOpt = Annotated[Path, typer.Option("--out", help="Write the cases here (JSONL).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N cases.")]


@import_app.command("beir")
def import_beir_cmd(
    src: Annotated[Path, typer.Argument(help="BEIR dataset directory.")],
    out: OutOpt,
    split: Annotated[str, typer.Option(help="qrels split.")] = "test",
    limit: LimitOpt = None,
) -> None:
    """One case per judged query of SPLIT; index SRC/corpus.jsonl to evaluate against it."""
    from ragwright.evals.importers import import_beir

    n = import_beir(src, out=out, split=split, limit=limit)
    render.err_console.print(
        f"{n} cases -> {out}; index the corpus with: ragwright ingest {src / 'corpus.jsonl'}", markup=False
    )


@import_app.command("squad")
def import_squad_cmd(
    src: Annotated[Path, typer.Argument(help="SQuAD-format JSON (e.g. xquad.en.json).")],
    out: OutOpt,
    corpus_out: Annotated[Path | None, typer.Option(help="Corpus to index (default: OUT with .corpus.jsonl).")] = None,
    holdout: Annotated[int, typer.Option(min=0, help="Leave out every Nth paragraph (0: none).")] = 5,
    limit: LimitOpt = None,
) -> None:
    """Cases plus a corpus without the held-out paragraphs, whose questions become unanswerable cases."""
    from ragwright.evals.importers import import_squad

    corpus = corpus_out or out.with_name(out.name.removesuffix(".jsonl") + ".corpus.jsonl")
    n = import_squad(src, out=out, corpus_out=corpus, holdout=holdout, limit=limit)
    render.err_console.print(
        f"{n} cases -> {out}; corpus -> {corpus} (index it, e.g. eval run --ingest {corpus})", markup=False
    )


@import_app.command("llamaindex")
def import_llamaindex_cmd(
    src: Annotated[Path, typer.Argument(help="rag_dataset.json, or its directory.")],
    out: OutOpt,
    pages: Annotated[Path | None, typer.Option(help="source_pages.jsonl to map reference contexts to pages.")] = None,
    limit: LimitOpt = None,
) -> None:
    """Cases with reference answers (and relevant pages when the source pages are given)."""
    from ragwright.evals.importers import import_llamaindex

    n = import_llamaindex(src, out=out, pages=pages, limit=limit)
    render.err_console.print(f"{n} cases -> {out}", markup=False)


@import_app.command("feedback")
def import_feedback_cmd(
    out: OutOpt,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's ratings (default: every tenant).")] = None,
    kb: Annotated[str | None, typer.Option("--kb", help="Only this knowledge base.")] = None,
    rating: Annotated[str | None, typer.Option(help="Only 'up' or 'down' ratings.")] = None,
    since: Annotated[str | None, typer.Option(help="Only ratings on or after this UTC date (YYYY-MM-DD).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file (default: ./ragwright.toml).")] = None,
) -> None:
    """Thumbs up/down from the chat page as cases: up = the answer is the reference, down = needs a reference."""
    from datetime import UTC, datetime

    from ragwright.evals.importers import import_feedback
    from ragwright.service.feedback import FeedbackQuery, Rating, open_feedback

    if rating is not None and rating not in ("up", "down"):
        raise UserError(f"--rating must be 'up' or 'down', not {rating!r}")
    try:
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() if since else None
    except ValueError:
        raise UserError(f"--since must be a date like 2026-01-31, not {since!r}") from None
    settings = load_settings(config_file=config) if config else load_settings()
    store = open_feedback(settings)
    try:
        query = FeedbackQuery(tenant=tenant, kb=kb, rating=Rating(rating) if rating else None, since=start)
        n = import_feedback(store, query, out=out)
    finally:
        store.close()
    render.err_console.print(f"{n} cases -> {out}")
