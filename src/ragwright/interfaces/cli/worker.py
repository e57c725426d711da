"""`ragwright worker`: consume the ingest queue (``[queue] enabled`` with a PostgreSQL store; docs/scale-out.md)."""

from __future__ import annotations

import asyncio
import logging
import logging.config
from pathlib import Path
from typing import Annotated

import typer

from ragwright.errors import UserError
from ragwright.interfaces.cli.queue import queued_settings
from ragwright.observability.logging import logging_config


def worker_command(
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Stop when the queue is empty instead of waiting.")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
) -> None:
    """Run ingest jobs from the queue: uploads to any `serve` replica, parsed here under limits, retried with backoff,
    dead-lettered after [queue] retries; stops on SIGINT/SIGTERM after the job in hand (at most 30 s)."""
    settings = queued_settings(config, data_dir)
    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UserError(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    # redacted like the servers' lines ([logging] format picks text or json): a job's error may quote a key
    text = {"text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}}
    logging.config.dictConfig(
        logging_config(settings.logging.format, log_level, base={"version": 1, "formatters": text})
    )
    logging.getLogger("procrastinate").setLevel(max(logging.INFO, logging.getLevelName(log_level.upper())))
    from ragwright.queue.consumer import IngestConsumer

    consumer = IngestConsumer(settings)
    typer.echo(f"ragwright worker {consumer.name}: consuming queue {settings.queue.name!r}", err=True)
    asyncio.run(consumer.run(once=once))
