"""`ragwright migrate --from .ragwright --to postgresql://...`: copy a data directory into PostgreSQL, then compare."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragwright.interfaces.cli import render


def migrate_command(
    source: Annotated[Path, typer.Option("--from", help="The data directory to copy (e.g. .ragwright).")],
    target: Annotated[
        str,
        typer.Option(
            "--to", help="postgresql://user@host:5432/db, or env:VAR / file:PATH holding one (keeps the password out)."
        ),
    ],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="Rows (documents, for the index) per transaction.")
    ] = 500,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="ragwright.toml whose [postgres] settings the target gets.")
    ] = None,
) -> None:
    """Copy the index (vectors included: nothing is re-embedded), keys, knowledge bases, jobs, the usage ledger and
    any other registered table into an empty PostgreSQL database; rerun after an interrupt to resume. Ends with a
    row count and checksum per table on both sides ("in": the SQLite source, "out": PostgreSQL); exit 1 if any
    differs."""
    from ragwright.config import load_settings, resolve_secret
    from ragwright.store.migrate import migrate

    dsn = resolve_secret(target) if target.startswith(("env:", "file:")) else target
    with render.err_console.status("migrating", spinner="dots") if not json_out and sys.stderr.isatty() else _quiet():
        report = migrate(source, str(dsn), batch_size=batch_size, postgres=load_settings(config).postgres)
    if json_out:
        render.print_json(report.to_dict())
    else:
        table = Table(box=None)
        table.add_column("table", no_wrap=True)
        for name in ("rows in", "rows out"):
            table.add_column(name, justify="right", no_wrap=True)
        for name in ("checksum in", "checksum out", ""):
            table.add_column(name, no_wrap=True)
        for c in report.checks:
            mark = "[dim]absent[/]" if c.absent else ("[green]ok[/]" if c.ok else "[red]DIFFERS[/]")
            table.add_row(
                c.table, str(c.source_rows), str(c.target_rows), c.source_checksum[:12], c.target_checksum[:12], mark
            )
        render.console.print(table)
        how = "resumed an earlier run, " if report.resumed else ""
        render.console.print(
            f"{how}copied {report.rows_copied} rows in {report.seconds:.1f}s into {report.target}"
            + ("" if report.ok else " [red]- some tables differ[/]")
        )
    if not report.ok:
        raise typer.Exit(1)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
