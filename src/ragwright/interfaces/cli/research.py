"""`ragwright research "question"`: a research run over one or more knowledge bases, printed as a checked report.

The run is an agent run (``ragwright agent show RUN`` shows its searches); the report's claims are checked against
the passages they cite like ``ask``'s sentences, and what the passages do not answer is listed under "Could not find".
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ragwright.agents.mcp_tools import discover_mcp_tools
from ragwright.agents.records import AgentEvent
from ragwright.agents.service import default_limits
from ragwright.agents.tools import ToolContext
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.cli import render
from ragwright.interfaces.mcp.access import local_key
from ragwright.research.service import research

__all__ = ["research_command"]


def _progress(event: AgentEvent) -> None:
    d = event.data
    if event.kind == "thought":
        render.err_console.print(f"[italic dim]{escape(d['text'])}[/]")
    elif event.kind == "tool_result":
        colour = "green" if d["status"] == "done" else "red"
        render.err_console.print(f"[dim]  [{colour}]← {d['name']} {d['status']}[/][/]")


def research_command(
    question: Annotated[str, typer.Argument(help="What to research.")],
    kb: Annotated[list[str] | None, typer.Option("--kb", help="A knowledge base to search (repeatable).")] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="An MCP tool taking a query, e.g. shop__search (repeatable).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="provider:model (default [agent].model).")] = None,
    max_sub_queries: Annotated[int, typer.Option("--max-sub-queries", min=1, max=10)] = 4,
    config: Annotated[Path | None, typer.Option("--config", help="Path to ragwright.toml.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Index directory (default ./.ragwright).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Research a question across knowledge bases (and MCP sources): a report whose every claim cites its passages."""
    rw = Ragwright(load_settings(config, data_dir=data_dir))
    try:
        wanted = list(dict.fromkeys(source or []))
        servers = rw.settings.agent.mcp_servers  # of this tenant; none configured: nothing is started
        found = asyncio.run(discover_mcp_tools(servers, tenant=rw.settings.tenant)) if wanted else []
        tools = {t.name: t for t in found}
        missing = [s for s in wanted if s not in tools]
        if missing:
            raise UserError(f"no MCP tool {', '.join(missing)} (configured: {', '.join(tools) or 'none'})")
        key = local_key(rw.settings.tenant, scopes=("read",))
        outcome = asyncio.run(
            research(
                rw,
                question,
                ToolContext(key),
                kbs=kb or ["default"],
                sources=[tools[s] for s in wanted],
                model=model,
                max_sub_queries=max_sub_queries,
                limits=default_limits(rw.settings.agent),
                on_event=None if json_out else _progress,
            )
        )
    finally:
        rw.close()
    u = outcome.run.usage
    if json_out:
        sys.stdout.write(json.dumps({"run_id": outcome.run.id, **outcome.report.to_dict()}, ensure_ascii=False) + "\n")
        return
    render.console.print(escape(outcome.report.to_markdown()))
    render.err_console.print(
        f"[dim]run {outcome.run.id} · {u.steps} model steps · {u.tool_calls} searches · {u.tokens} tokens · "
        f"${u.usd:.4f} · {u.seconds:.1f} s · citation precision {outcome.report.citation_precision:.2f}[/]"
    )
