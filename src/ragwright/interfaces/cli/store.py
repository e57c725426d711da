"""`ragwright store prewarm`: read a PostgreSQL store's HNSW indexes and chunk rows into the server's shared buffers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragwright.interfaces.cli import render

store_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@store_app.command("prewarm")
def prewarm_command(
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="postgresql://... or env:VAR / file:PATH holding one (default: the config's)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Read the store's HNSW indexes (every tenant's) and chunk rows into PostgreSQL's shared buffers with
    pg_prewarm, so the first searches after a database restart do not read them page by page. Run it after the
    database server starts; [postgres] prewarm = true does the same whenever ragwright opens the store."""
    from ragwright.config import load_settings
    from ragwright.errors import UserError
    from ragwright.store.postgres import PostgresStore

    settings = load_settings(config) if store is None else load_settings(config, store=store)
    if not settings.uses_postgres:
        raise UserError("prewarm reads a PostgreSQL store into its shared buffers: set store = postgresql://...")
    pg = PostgresStore(
        settings.store_dsn(), pool_max=1, settings=settings.postgres.model_copy(update={"prewarm": False})
    )
    try:
        report = pg.prewarm()
    finally:
        pg.close()
    if json_out:
        render.print_json(report.to_dict())
        return
    table = Table(box=None)
    for name, justify in (("relation", "left"), ("blocks", "right"), ("MB", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in report.relations:
        table.add_row(r.name, str(r.blocks), f"{r.megabytes:.1f}")
    render.console.print(table)
    render.console.print(
        f"read {report.megabytes:.0f} MB in {report.seconds:.1f}s; shared_buffers {report.shared_buffers_mb:.0f} MB"
        + ("" if report.fits else " [yellow]- too small to hold it all: raise it (docs/scale-out.md)[/]")
    )
