"""The stdio transport: one process, one caller, whose key is fixed when the process starts.

MCP clients (desktop apps, IDEs) launch ``ragwright mcp`` and talk JSON-RPC over its stdin/stdout; there are no
headers, so the key comes from ``--key`` / ``RAGWRIGHT_API_KEY`` or a tenant and scopes on the command line.

Example::

    anyio.run(serve_stdio, server)
"""

from __future__ import annotations

from typing import Any

from mcp.server import Server
from mcp.server.stdio import stdio_server


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` over this process's stdin/stdout until the client closes them."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
