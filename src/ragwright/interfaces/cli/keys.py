"""`ragwright keys ...`: create, list and revoke the API keys the HTTP and MCP services accept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from ragwright.config import load_settings
from ragwright.interfaces.cli import render
from ragwright.service.keys import KeyStore, open_key_store
from ragwright.sharedstate.client import SharedRedis
from ragwright.sharedstate.revocation import announce_revocation

keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _store(config: Path | None, data_dir: Path | None) -> KeyStore:
    settings = load_settings(config, data_dir=data_dir)
    return open_key_store(settings)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@keys_app.command("create")
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key acts for.")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Comma-separated: read, write, admin (and the approve grant).")
    ] = "read",
    tags: Annotated[
        str | None, typer.Option("--tags", help="Comma-separated tags the key may read (default all).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label to recognise the key by.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it once: it is stored hashed and cannot be shown again."""
    with _store(config, data_dir) as store:
        raw, key = store.create(tenant, scopes=_split(scopes), tags=_split(tags), name=name)
    if json_out:
        render.print_json({"key": raw, **key.to_dict()})
        return
    render.console.print(raw, markup=False, highlight=False, soft_wrap=True)
    render.err_console.print(
        f"key {key.key_id} for tenant {key.tenant} ({', '.join(sorted(key.scopes))}); "
        "store it now, it will not be shown again"
    )


@keys_app.command("list")
def list_keys(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's keys.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List keys (never their secrets)."""
    with _store(config, data_dir) as store:
        keys = store.list(tenant)
    if json_out:
        render.print_json([k.to_dict() for k in keys])
        return
    from rich.table import Table

    table = Table(title=f"{len(keys)} keys")
    for col in ("key_id", "tenant", "scopes", "tags", "name", "status"):
        table.add_column(col)
    for k in keys:
        table.add_row(
            k.key_id,
            k.tenant,
            ",".join(sorted(k.scopes)),
            ",".join(k.tags) or "(all)",
            k.name or "",
            "revoked" if k.revoked else "active",
        )
    render.console.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key_id shown by `keys list`.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key: requests with it get 401 from then on (with a [redis] url, on every replica's next request)."""
    settings = load_settings(config, data_dir=data_dir)
    with open_key_store(settings) as store:
        existed = store.get(key_id) is not None
        changed = store.revoke(key_id)
    if not existed:
        render.print_error(f"no key {key_id}")
        raise typer.Exit(2)
    redis = SharedRedis.from_settings(settings.redis)
    if redis is not None:  # replicas forget the keys they verified before serving their next request
        asyncio.run(announce_revocation(redis))
    render.console.print(f"revoked {key_id}" if changed else f"{key_id} was already revoked", markup=False)
