"""`ragwright eval calibrate-abstention CASES`: re-fit the abstention operating point on a user's golden set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragwright.config import load_settings
from ragwright.interfaces.cli import render

LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N cases.")]


def calibrate_abstention_cmd(
    dataset: Annotated[Path, typer.Argument(help="cases.jsonl with answerable/unanswerable labels.")],
    config: Annotated[Path, typer.Option("--config", help="ragwright.toml to update (created if missing).")] = Path(
        "ragwright.toml"
    ),
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory.")] = None,
    max_false_abstention: Annotated[
        float, typer.Option(help="Largest share of answerable cases it may abstain on.")
    ] = 0.05,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the operating point; do not write it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    limit: LimitOpt = None,
) -> None:
    """Re-fit the abstention operating point (answer.min_answerability) on your golden set and write it to config."""
    from dataclasses import asdict

    from ragwright.app import Ragwright
    from ragwright.evals.abstention import calibrate_abstention, set_toml_value
    from ragwright.evals.dataset import load_cases

    cases = load_cases(dataset)[:limit] if limit else load_cases(dataset)
    settings = load_settings(config if config.is_file() else None, data_dir=data_dir)
    rw = Ragwright(settings)
    try:
        result = calibrate_abstention(cases, rw, max_false_abstention=max_false_abstention)
    finally:
        rw.close()
    if not dry_run:
        set_toml_value(config, "answer", "min_answerability", round(result.threshold, 6))
    if as_json:
        render.print_json(asdict(result))
        return
    unans = result.unanswerable_abstained
    prev_unans = result.previous_unanswerable_abstained
    render.console.print(
        f"{result.n_answerable} answerable, {result.n_unanswerable} unanswerable cases\n"
        f"operating point {result.previous:.4f} -> {result.threshold:.4f}: false abstention "
        f"{result.previous_false_abstention:.1%} -> {result.false_abstention:.1%}, unanswerable abstained "
        f"{'-' if prev_unans is None else f'{prev_unans:.1%}'} -> {'-' if unans is None else f'{unans:.1%}'}"
    )
    render.console.print(
        "dry run: nothing written"
        if dry_run
        else f"wrote [answer] min_answerability = {result.threshold:.6g} to {config}"
    )
