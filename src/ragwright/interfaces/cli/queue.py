"""`ragwright queue dead|retry JOB_ID`: the ingest queue's dead letters, and re-running one from its kept upload
(``[queue] enabled`` with a PostgreSQL store; docs/scale-out.md)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from ragwright.config import Settings, load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render

queue_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def queued_settings(config: Path | None, data_dir: Path | None) -> Settings:
    """The settings, if they turn the ingest queue on; else a :class:`UserError` saying how to."""
    settings = load_settings(config, data_dir=data_dir)
    if not settings.queue.enabled:
        raise UserError(
            "the ingest queue is off: set [queue] enabled = true (RAGWRIGHT_QUEUE__ENABLED=true) with a PostgreSQL "
            "store, for serve and worker alike"
        )
    return settings


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


@queue_app.command("dead")
def dead(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant's jobs (default: every tenant).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many, newest first.")] = 50,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List dead-lettered ingest jobs: failed after their last retry, their uploads kept for `queue retry`."""
    from ragwright.interfaces.http.queued_jobs import QueuedJobs

    jobs = QueuedJobs(queued_settings(config, data_dir))
    try:
        found = jobs.dead_letters(tenant=tenant, limit=limit)
    finally:
        jobs.close()
    if json_out:
        render.print_json([{**job.to_dict(), "tenant": job.tenant} for job in found])
        return
    from rich.table import Table

    table = Table(title=f"{len(found)} dead-lettered jobs")
    table.add_column("job", no_wrap=True)  # whole, to paste into `queue retry`
    for col in ("tenant", "kb", "files", "attempts", "failed at (UTC)", "error"):
        table.add_column(col)
    for job in found:
        files = ", ".join(job.files[:3]) + (f" (+{len(job.files) - 3})" if len(job.files) > 3 else "")
        table.add_row(job.id, job.tenant, job.kb, files, str(job.attempts), _when(job.finished_at), job.error or "")
    render.console.print(table)


@queue_app.command("retry")
def retry(
    job_id: Annotated[str, typer.Argument(help="The dead-lettered job's id (`queue dead` lists them).")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the job belongs to.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-run a dead-lettered job from its kept upload: it waits for a worker again, which gives it one more
    attempt (dead-lettered again if that fails). Exit 2 if the tenant has no such job or it is not dead-lettered."""
    from ragwright.interfaces.http.queued_jobs import QueuedJobs

    jobs = QueuedJobs(queued_settings(config, data_dir))
    try:
        job = jobs.retry(job_id, tenant=tenant)
    finally:
        jobs.close()
    if json_out:
        render.print_json(job.to_dict())
        return
    render.console.print(f"{job.id} is queued again ({len(job.files)} files); a worker will take it", markup=False)
