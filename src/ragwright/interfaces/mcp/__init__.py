"""MCP server (official ``mcp`` SDK): search, answer, list_documents, get_document and (write keys only) ingest.

Modules: ``access`` (what a key may see), ``schemas`` (tool inputs), ``tools`` (the operations), ``ratelimit``,
``server`` (tool list and calls per key), ``stdio`` and ``http`` (transports). ``ragwright mcp`` wires them up.
"""
