"""Tools from other MCP servers: each configured server's tools, offered to agent runs of the tenants it names.

Servers are listed under ``[agent.mcp_servers.NAME]`` (a stdio ``command`` or an HTTP ``url``) and reached through the
official ``mcp`` client. A server's tool ``lookup`` becomes the agent tool ``NAME__lookup``, with the server's own
input schema (arguments are validated against it before the call). Nothing is known of what another server's tools
do, so each of them **needs approval** unless the configuration lists it in ``read_only``.

Each call opens its own connection (a stdio server is started for it): agent steps take seconds, the connection is
cheap beside them, and a run that pauses for a day holds no subprocess. A tool error the server reports (``isError``)
is the tool's failure, which the model sees; the server's text reaches it only as fenced tool output.

Example::

    tools = await discover_mcp_tools(settings.agent.mcp_servers, tenant="acme")
    runner = agent_runner(rw, extra_tools=tools)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from ragwright.agents.tools import AgentTool, ToolContext
from ragwright.config import McpServerSettings, resolve_secret
from ragwright.errors import UserError
from ragwright.redact import redact

__all__ = ["McpToolError", "discover_mcp_tools"]

log = logging.getLogger(__name__)


class McpToolError(UserError):
    """Another MCP server answered a tool call with an error (its text, redacted)."""


def _target(server: McpServerSettings) -> StdioServerParameters | str:
    if server.url is not None:
        return server.url
    assert server.command is not None
    env = {k: (resolve_secret(v) if v.startswith(("env:", "file:")) else v) or "" for k, v in server.env.items()}
    return StdioServerParameters(command=server.command[0], args=server.command[1:], env=env or None)


def _text(result: Any) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    if not any(parts) and result.structured_content is not None:
        return str(result.structured_content)
    return "\n".join(p for p in parts if p)


def _tool(
    server_name: str, server: McpServerSettings, name: str, description: str, schema: dict[str, Any]
) -> AgentTool:
    async def call(ctx: ToolContext, **values: Any) -> str:
        with anyio.fail_after(server.timeout):
            async with Client(_target(server), read_timeout_seconds=server.timeout) as client:
                result = await client.call_tool(name, values)
        text = _text(result)
        if result.is_error:
            raise McpToolError(redact(text)[:2000] or f"{server_name}: {name} failed")
        return text

    read_only = name in server.read_only
    return AgentTool(
        f"{server_name}__{name}",
        description or f"{name} (from the MCP server {server_name})",
        call,
        None,
        side_effects=not read_only,
        needs_approval=not read_only,
        json_schema=schema or {"type": "object", "properties": {}},
    )


def _serves(server: McpServerSettings, tenant: str) -> bool:
    return "*" in server.tenants or tenant in server.tenants


CATALOG_SECONDS = 60.0
"""How long a server's tool list is reused, so each agent run (an HTTP request) does not start every configured server
just to list its tools; a server's new tools appear within this time. An unreachable server is not remembered."""

_catalog: dict[str, tuple[float, list[AgentTool]]] = {}


async def discover_mcp_tools(servers: Mapping[str, McpServerSettings], *, tenant: str) -> list[AgentTool]:
    """The tools of every server configured for ``tenant``. A server that cannot be reached is logged and left out
    (the run goes on with the other tools), never a failure of the whole run."""
    tools: list[AgentTool] = []
    for server_name, server in servers.items():
        if _serves(server, tenant):
            tools += await _server_tools(server_name, server)
    return tools


async def _server_tools(server_name: str, server: McpServerSettings) -> list[AgentTool]:
    key = server_name + server.model_dump_json()
    cached = _catalog.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        with anyio.fail_after(server.timeout):
            async with Client(_target(server), read_timeout_seconds=server.timeout) as client:
                listed = (await client.list_tools()).tools
    except Exception as exc:  # an unreachable server must not take the agent down
        log.warning("MCP server %s left out of agent tools: %s", server_name, redact(f"{type(exc).__name__}: {exc}"))
        return []
    tools = [_tool(server_name, server, t.name, t.description or "", dict(t.input_schema or {})) for t in listed]
    _catalog[key] = (time.monotonic() + CATALOG_SECONDS, tools)
    return tools
