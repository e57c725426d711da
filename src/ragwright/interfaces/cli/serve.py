"""`ragwright serve`: run the HTTP API (FastAPI under uvicorn)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer

from ragwright.config import load_settings
from ragwright.errors import UserError

LogFormatOpt = Annotated[
    Literal["text", "json"] | None,
    typer.Option("--log-format", help="text (default; [logging] format) or json: one object per line, with ids."),
]


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request (off saves CPU under load).")
    ] = True,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level: debug, info, warning, error.")
    ] = "info",
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="Server processes (see docs/serve.md for what is per process)."),
    ] = 1,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve the HTTP API: search, answers, OpenAI-compatible chat completions, documents and jobs."""
    import uvicorn

    from ragwright.interfaces.http.access_log import access_log_config
    from ragwright.interfaces.http.app import create_app
    from ragwright.observability.logging import logging_config

    settings = load_settings(config, data_dir=data_dir)
    if log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise UserError(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    common = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": access_log,
        "timeout_graceful_shutdown": int(settings.service.request_timeout) + 1,
        # no query strings in the access log (they may carry secrets); JSON lines with request ids when asked
        "log_config": logging_config(log_format or settings.logging.format, log_level, base=access_log_config()),
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Each worker process builds its own app from the same settings: pass the CLI's choices down as environment.
    if config is not None:
        os.environ["RAGWRIGHT_CONFIG"] = str(config.resolve())
    os.environ["RAGWRIGHT_DATA_DIR"] = str(settings.data_dir.resolve())
    # One rate-limit window per key for all the workers: a SQLite file in the data directory, unless the user chose
    # a storage (an explicit memory:// stays per process).
    if "rate_limit_storage" not in settings.service.model_fields_set:
        os.environ["RAGWRIGHT_SERVICE__RATE_LIMIT_STORAGE"] = "sqlite://"
    # /metrics adds up every worker: prometheus_client's multiprocess mode, whose directory must be set before the
    # workers import it (they are spawned, so they read it at import) and must start empty.
    metrics_dir = _multiproc_dir()
    try:
        uvicorn.run("ragwright.interfaces.http.app:app_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _multiproc_dir() -> Path | None:
    """Set ``PROMETHEUS_MULTIPROC_DIR`` to a fresh temporary directory, removed when the server stops (returned);
    a directory the user set is kept as it is (None)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    path = Path(tempfile.mkdtemp(prefix="ragwright-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path
