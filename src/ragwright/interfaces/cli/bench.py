"""`ragwright bench ...`: thin commands over :mod:`ragwright.bench`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.ingest.pipeline import Progress as IngestProgress
from ragwright.interfaces.cli import render

bench_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@contextmanager
def _bars(quiet: bool) -> Iterator[tuple[object, object]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=render.err_console,
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    ) as bar:
        ingest_task = bar.add_task("ingest", total=None)
        query_task = bar.add_task("queries", total=None, visible=False)

        def on_ingest(p: IngestProgress) -> None:
            bar.update(ingest_task, completed=p.files_done, total=p.files_total or None)

        def on_query(done: int, total: int) -> None:
            bar.update(query_task, completed=done, total=total, visible=True)

        yield on_ingest, on_query


@bench_app.command("retrieval")
def retrieval(
    beir: Annotated[Path, typer.Option("--beir", help="BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/).")],
    split: Annotated[str, typer.Option(help="qrels split to score.")] = "test",
    mode: Annotated[str, typer.Option(help="bm25, dense or hybrid.")] = "hybrid",
    out: Annotated[Path | None, typer.Option(help="Write the result JSON here.")] = None,
    index: Annotated[Path | None, typer.Option(help="Keep the index here (re-runs embed nothing).")] = None,
    store: Annotated[
        str | None,
        typer.Option(help="Index into this store: a postgresql:// DSN (an empty database or schema) or env:VAR."),
    ] = None,
    vectors_from: Annotated[
        Path | None,
        typer.Option(help="Reuse the vectors of this kept SQLite index (index.sqlite) instead of embedding again."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config")] = None,
) -> None:
    """Ingest a BEIR dataset into a fresh store; print nDCG@10, recall, MRR, latency and ingest throughput."""
    from ragwright.bench.retrieval import run_retrieval_bench

    if mode not in ("bm25", "dense", "hybrid"):
        raise UserError(f"--mode must be bm25, dense or hybrid, not {mode!r}")
    settings = load_settings(config, store=store)
    with _bars(False) as (on_ingest, on_query):
        data = run_retrieval_bench(
            beir,
            settings=settings,
            split=split,
            mode=mode,  # type: ignore[arg-type]
            index=index,
            out=out,
            progress=on_ingest,  # type: ignore[arg-type]
            on_query=on_query,  # type: ignore[arg-type]
            vectors_from=vectors_from,
        )
    render.print_json(data)


@bench_app.command("answers")
def answers(
    squad: Annotated[Path, typer.Option("--squad", help="SQuAD-format JSON (e.g. xquad.en.json).")],
    out: Annotated[Path | None, typer.Option(help="Write the result JSON here.")] = None,
    holdout: Annotated[
        int, typer.Option(help="Leave every N-th paragraph out (its questions are unanswerable); 0 = none.")
    ] = 5,
    index: Annotated[Path | None, typer.Option(help="Keep the index here (re-runs embed nothing).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    store: Annotated[
        str | None,
        typer.Option(help="Index into this store: a postgresql:// DSN (an empty database or schema) or env:VAR."),
    ] = None,
    vectors_from: Annotated[
        Path | None,
        typer.Option(help="Reuse the vectors of this kept SQLite index (index.sqlite) instead of embedding again."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config")] = None,
) -> None:
    """Recall@1/@5 of the gold paragraph, EM/F1 of the extractive answer vs a first-sentence baseline, abstention."""
    from ragwright.bench.answers import run_answer_bench

    settings = load_settings(config, store=store)
    with _bars(False) as (on_ingest, on_query):
        data = run_answer_bench(
            squad,
            settings=settings,
            holdout=holdout,
            index=index,
            out=out,
            progress=on_ingest,  # type: ignore[arg-type]
            on_query=on_query,  # type: ignore[arg-type]
            limit=limit,
            vectors_from=vectors_from,
        )
    render.print_json(data)


@bench_app.command("abstention")
def abstention(
    dataset: Annotated[str, typer.Option("--dataset", help="xquad, scifact or solana.")],
    data: Annotated[
        Path | None, typer.Option(help="The dataset (xquad.en.json, the SciFact BEIR dir, the Solana dir).")
    ] = None,
    part: Annotated[str, typer.Option(help="test (report) or train (fitting data; not for solana).")] = "test",
    out: Annotated[Path | None, typer.Option(help="Write the result JSON here.")] = None,
    records: Annotated[Path | None, typer.Option(help="Write one JSON line per question (features, outcome).")] = None,
    index: Annotated[Path | None, typer.Option(help="Keep the full index here (re-runs embed nothing).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions of the part.")] = None,
    corpus_limit: Annotated[
        int | None, typer.Option(help="SciFact: index only the first N abstracts; keep the claims they cover.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config")] = None,
) -> None:
    """Abstention with the gold document removed from the index, and false abstention with it present."""
    from ragwright.bench.abstention import DEFAULT_DATA, run_abstention_bench

    if part not in ("train", "test"):
        raise UserError(f"--part must be train or test, not {part!r}")
    settings = load_settings(config)
    with _bars(False) as (on_ingest, on_query):
        result = run_abstention_bench(
            dataset,
            data or DEFAULT_DATA.get(dataset, Path(dataset)),
            settings=settings,
            part=part,  # type: ignore[arg-type]
            index=index,
            out=out,
            records=records,
            limit=limit,
            corpus_limit=corpus_limit,
            progress=on_ingest,  # type: ignore[arg-type]
            on_query=on_query,  # type: ignore[arg-type]
        )
    render.print_json(result)


@bench_app.command("verifier")
def verifier(
    out: Annotated[Path | None, typer.Option(help="Write the result JSON here.")] = None,
    datasets: Annotated[
        Path, typer.Option(help="Directory holding xquad-en/ and scifact/ (the pairs are rebuilt from them).")
    ] = Path("../shared/datasets"),
    data: Annotated[Path, typer.Option(help="Frozen split and labelled model outputs.")] = Path("bench/data/verifier"),
    judge_model: Annotated[
        str | None,
        typer.Option(help="Also run the model judge with this model through the gateway (e.g. local:smollm2)."),
    ] = None,
    judge_limit: Annotated[int | None, typer.Option(help="Judge a seeded sample of N pairs per split.")] = None,
    split: Annotated[str, typer.Option(help="tune, test or both.")] = "both",
    config: Annotated[Path | None, typer.Option("--config")] = None,
) -> None:
    """Unsupported sentences that pass and supported ones dropped, offline check and (optionally) model judge."""
    from ragwright.app import Ragwright
    from ragwright.bench.common import write_json
    from ragwright.bench.verifier import run_verifier_bench

    if split not in ("tune", "test", "both"):
        raise UserError(f"--split must be tune, test or both, not {split!r}")
    settings = load_settings(config)
    app = Ragwright(settings)
    try:
        judge = None
        if judge_model is not None:
            from ragwright.answering.verify_judge import ModelJudge

            model_judge = ModelJudge(app.gateway.chat, judge_model)
            judge = model_judge.judge_pair
        data_out = run_verifier_bench(
            datasets,
            data,
            embedder=app.embedder,
            judge=judge,
            judge_name=judge_model,
            judge_limit=judge_limit,
            splits=("tune", "test") if split == "both" else (split,),
            progress=lambda msg: render.err_console.print(f"[dim]{escape(msg)}[/]"),
        )
    finally:
        app.close()
    write_json(out, data_out)
    render.print_json(data_out)
