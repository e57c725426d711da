"""`ragwright gateway serve` (the OpenAI-compatible proxy) and `ragwright usage` (spend from the usage ledger)."""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ragwright.config import Settings, load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render
from ragwright.interfaces.cli.serve import LogFormatOpt

if TYPE_CHECKING:
    from ragwright.gateway.proxy import ProxyApp

gateway_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./.ragwright).")]


@gateway_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8100,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve without API keys, for local development: clients name their tenant with X-Ragwright-Tenant. "
            "Refused unless --host is a loopback address.",
        ),
    ] = False,
    require_key: Annotated[
        bool, typer.Option("--require-key", hidden=True, help="The default now; kept for old scripts.")
    ] = True,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve the gateway as an OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models, GET /metrics.

    Every request needs an API key from `ragwright keys create` (Authorization: Bearer ...); the key's tenant is used.
    """
    from ragwright.gateway.proxy import serve as run
    from ragwright.observability.logging import logging_config

    settings = load_settings(config, data_dir=data_dir)
    proxy = make_proxy(settings, host=host, no_auth=no_auth)
    render.err_console.print(
        f"ragwright gateway on http://{host}:{port}/v1  models: {', '.join(proxy.gateway.models())}"
        + ("  [bold]no auth[/]: any local client may call it" if no_auth else "")
    )
    run(proxy, host=host, port=port, log_config=logging_config(log_format or settings.logging.format, "warning"))


def make_proxy(settings: Settings, *, host: str, no_auth: bool) -> ProxyApp:
    """The proxy `gateway serve` runs: API keys from the key store, unless ``no_auth`` on a loopback ``host``."""
    from ragwright.gateway.proxy import build_proxy, cached_authenticator

    if no_auth:
        if not is_loopback(host):
            raise UserError(
                f"--no-auth is for local development: it is refused on --host {host}, which other machines can "
                "reach; create keys with `ragwright keys create` instead"
            )
        return build_proxy(settings)
    from ragwright.service.keys import open_key_store

    store = open_key_store(settings)

    def verify(raw: str) -> tuple[str, str] | None:
        key = store.verify(raw)
        return (key.tenant, key.key_id) if key is not None and key.allows("read") else None

    return build_proxy(settings, authenticate=cached_authenticator(verify))


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def usage(
    by: Annotated[
        str, typer.Option("--by", help="Group by tenant, key, model, kb (knowledge base), prompt (name@version), day.")
    ] = "model",
    since: Annotated[
        str | None, typer.Option("--since", help="Only calls on or after this UTC date (YYYY-MM-DD).")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's calls.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Summarise model spend from the usage ledger: calls, questions, tokens, cost (also per 1,000 questions), cache
    savings and errors."""
    from ragwright.gateway.usage import ledger_label, summarize_ledger

    settings = load_settings(config, data_dir=data_dir)
    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        raise UserError(f"--since must be a date like 2026-11-01, not {since!r}") from None
    rows = summarize_ledger(settings, by=by, since=start, tenant=tenant)  # type: ignore[arg-type]
    where = ledger_label(settings)
    if json_out:
        render.print_json(
            {
                "by": by,
                "since": since,
                "tenant": tenant,
                "ledger": where,
                "rows": [r.to_dict() for r in rows],
            }
        )
        return
    scope = (f" since {since}" if since else "") + (f" for tenant {tenant}" if tenant else "")
    if not rows:
        render.console.print(f"no calls recorded in {where}{scope}", markup=False)
        return
    table = Table(title=f"usage by {by}{scope}")
    group_width = min(32, max(len(by), *(len(r.group) for r in rows)))  # never squeezed away on a narrow terminal
    table.add_column(by, min_width=group_width, overflow="fold")
    for col in ("calls/err/hit", "questions", "in (cached)", "out (reason)", "cost $", "$ / 1k q", "saved $"):
        table.add_column(col, justify="right")
    for r in rows:
        star = "*" if r.unpriced_calls else ""
        table.add_row(
            r.group,
            f"{r.calls}/{r.errors}/{r.cache_hits}",
            f"{r.questions:,}",
            f"{r.input_tokens:,} ({r.cached_input_tokens:,})",
            f"{r.output_tokens:,} ({r.reasoning_tokens:,})",
            f"{r.cost_usd:.6f}{star}",
            f"{r.cost_per_1k_questions:.4f}{star}",
            f"{r.saved_usd:.6f}",
        )
    render.console.print(table)
    render.console.print(
        "[dim]calls/err/hit: calls, failed, answered from the cache · questions: requests that used a model · "
        "in/out: tokens · $ / 1k q: cost per 1,000 questions · saved: what the cache avoided[/]"
    )
    if any(r.unpriced_calls for r in rows):
        render.console.print("* some calls used a model with no price in the table: their cost is not included")
