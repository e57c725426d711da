"""`ragwright mcp`: serve the MCP tools over stdio (default) or streamable HTTP with API-key auth (``--http``)."""

from __future__ import annotations

import logging
import logging.config
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
import typer

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli.serve import LogFormatOpt
from ragwright.observability.logging import logging_config
from ragwright.service.keys import VERIFIED_KEY_SECONDS, KeyStore, open_key_store
from ragwright.sharedstate.client import SharedRedis, limit_storage
from ragwright.sharedstate.revocation import KeyVersions

if TYPE_CHECKING:
    from ragwright.interfaces.mcp.server import KeyResolver


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


KEY_FLAG_WARNING = (
    "warning: --key puts the API key on the command line, where `ps` shows it; use RAGWRIGHT_API_KEY or --key-file"
)


def _raw_key(ctx: typer.Context, key: str | None, key_file: Path | None) -> str | None:
    """The API key from ``--key-file``, RAGWRIGHT_API_KEY or (with a warning: ``ps`` shows it) ``--key``."""
    if key_file is not None:
        if key is not None:
            raise UserError("give one of --key-file, RAGWRIGHT_API_KEY or --key, not several")
        try:
            lines = key_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read --key-file {key_file}: {getattr(exc, 'strerror', None) or exc}") from None
        if not lines or not lines[0].strip():
            raise UserError(f"--key-file {key_file} is empty")
        return lines[0].strip()
    source = ctx.get_parameter_source("key")
    if key is not None and source is not None and source.name == "COMMANDLINE":
        typer.echo(KEY_FLAG_WARNING, err=True)
    return key.strip() if key else None


def _stdio_resolver(
    keys: KeyStore | None,
    raw_key: str | None,
    tenant: str,
    scopes: str,
    tags: str | None,
    versions: KeyVersions | None = None,
) -> KeyResolver:
    from ragwright.interfaces.mcp.access import local_key
    from ragwright.interfaces.mcp.server import fixed_key, stored_key

    if raw_key:
        assert keys is not None
        if keys.verify(raw_key) is None:
            raise UserError("invalid or revoked API key (--key / RAGWRIGHT_API_KEY)")
        return stored_key(keys, raw_key, versions)
    return fixed_key(local_key(tenant, _split(scopes), _split(tags)))


def mcp_command(
    ctx: typer.Context,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp (Bearer API keys) instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Interface to bind with --http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port with --http.")] = 8765,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="RAGWRIGHT_API_KEY",
            show_envvar=True,
            help="stdio: act as this API key. Prefer RAGWRIGHT_API_KEY or --key-file: `ps` shows the command line.",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="stdio: act as the API key in this file (its first line; keep it 0600)."),
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="stdio without --key: the tenant to serve.")] = None,
    scopes: Annotated[
        str, typer.Option("--scopes", help="stdio without --key: read, or read,write to allow ingest.")
    ] = "read",
    tags: Annotated[
        str | None, typer.Option("--tags", help="stdio without --key: only documents with these tags.")
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option("--rpm", min=1, help="Tool calls per minute per key (default: service.rate_limit_rpm)."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")] = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve search, answer, list_documents, get_document, (write keys only) ingest and (approve keys only) agent
    approvals to MCP clients."""
    from ragwright.interfaces.mcp.agent_tools import AgentRuns
    from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
    from ragwright.interfaces.mcp.server import build_server, key_from_http
    from ragwright.interfaces.mcp.tools import RagTools

    key = _raw_key(ctx, key, key_file)
    settings = load_settings(config, data_dir=data_dir)
    fmt = log_format or settings.logging.format
    # ragwright's own lines on stderr (stdout is the stdio protocol), redacted in either format
    logging.config.dictConfig(logging_config(fmt, "warning", base={"version": 1}))
    redis = SharedRedis.from_settings(settings.redis)  # per-key limits shared with every replica when set
    storage = limit_storage(
        settings.service.rate_limit_storage,
        explicit="rate_limit_storage" in settings.service.model_fields_set,
        redis=redis,
        what="service.rate_limit_storage",
    )
    limiter = KeyRateLimiter(rpm or settings.service.rate_limit_rpm, storage, data_dir=settings.data_dir, redis=redis)
    rw = Ragwright(settings)
    tools = RagTools(rw)
    agents = AgentRuns(rw)  # paused agent runs: the approval tools (approve grant)
    try:
        if http:
            from ragwright.interfaces.mcp.http import serve_http

            if key or tenant:
                raise UserError("--key and --tenant are for stdio; over HTTP each request brings its own key")
            with open_key_store(settings) as keys:
                server = build_server(
                    tools, key_from_http, limiter, timeout=settings.service.request_timeout, agents=agents
                )
                typer.echo(f"MCP over streamable HTTP at http://{host}:{port}/mcp (Bearer API keys)", err=True)
                log_config = logging_config(fmt, "warning")
                anyio.run(lambda: serve_http(server, keys, host=host, port=port, log_config=log_config))
        else:
            from ragwright.interfaces.mcp.stdio import serve_stdio

            raw = key
            with open_key_store(settings, cache_seconds=VERIFIED_KEY_SECONDS) if raw else nullcontext() as keys:
                versions = KeyVersions(redis) if redis is not None else None  # revocations reach it at once
                resolver = _stdio_resolver(keys, raw, tenant or settings.tenant, scopes, tags, versions)
                server = build_server(tools, resolver, limiter, timeout=settings.service.request_timeout, agents=agents)
                anyio.run(serve_stdio, server)
    finally:
        agents.close()
        tools.close()
        rw.close()
