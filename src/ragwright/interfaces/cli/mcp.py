"""`ragwright mcp`: serve the MCP tools over stdio (default) or streamable HTTP with API-key auth (``--http``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import anyio
import typer

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.service.keys import ApiKey, KeyStore, key_path


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _stdio_key(keys_file: Path, raw_key: str | None, tenant: str, scopes: str, tags: str | None) -> ApiKey:
    from ragwright.interfaces.mcp.access import local_key

    if raw_key:
        with KeyStore(keys_file) as store:
            key = store.verify(raw_key.strip())
        if key is None:
            raise UserError("invalid or revoked API key (--key / RAGWRIGHT_API_KEY)")
        return key
    return local_key(tenant, _split(scopes), _split(tags))


def mcp_command(
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
            help="stdio: act as this API key (its tenant, scopes and tags).",
        ),
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
) -> None:
    """Serve search, answer, list_documents, get_document and (write keys only) ingest to MCP clients."""
    from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
    from ragwright.interfaces.mcp.server import build_server, fixed_key, key_from_http
    from ragwright.interfaces.mcp.tools import RagTools

    settings = load_settings(config, data_dir=data_dir)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    limiter = KeyRateLimiter(
        rpm or settings.service.rate_limit_rpm, settings.service.rate_limit_storage, data_dir=settings.data_dir
    )
    rw = Ragwright(settings)
    tools = RagTools(rw)
    try:
        if http:
            from ragwright.interfaces.mcp.http import serve_http

            if key or tenant:
                raise UserError("--key and --tenant are for stdio; over HTTP each request brings its own key")
            with KeyStore(key_path(settings)) as keys:
                server = build_server(tools, key_from_http, limiter, timeout=settings.service.request_timeout)
                typer.echo(f"MCP over streamable HTTP at http://{host}:{port}/mcp (Bearer API keys)", err=True)
                anyio.run(lambda: serve_http(server, keys, host=host, port=port))
        else:
            from ragwright.interfaces.mcp.stdio import serve_stdio

            api_key = _stdio_key(key_path(settings), key, tenant or settings.tenant, scopes, tags)
            anyio.run(
                serve_stdio, build_server(tools, fixed_key(api_key), limiter, timeout=settings.service.request_timeout)
            )
    finally:
        tools.close()
        rw.close()
