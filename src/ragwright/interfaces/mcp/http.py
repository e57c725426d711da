"""Streamable HTTP transport with API-key auth: every request to ``/mcp`` needs ``Authorization: Bearer <key>``.

The key is verified with :class:`~ragwright.service.keys.KeyStore` on every request (in a worker thread: SQLite), so a
revoked key stops working at once and one session can never borrow another key's rights. A missing, malformed, unknown
or revoked key gets ``401`` with a JSON error body and ``WWW-Authenticate: Bearer``; two ``Authorization`` headers get
``400``; the verified key rides in the ASGI
scope to the tool handlers (:func:`~ragwright.interfaces.mcp.server.key_from_http`). The MCP app runs stateless, so
there is no server-side session to hijack.

Example::

    app = build_http_app(server, open_key_store(settings))
    uvicorn.run(app, host="127.0.0.1", port=8765)   # clients connect to http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from ragwright.interfaces.mcp.server import SCOPE_KEY
from ragwright.observability.asgi import TraceMiddleware
from ragwright.observability.requests import RequestIdMiddleware, identify
from ragwright.observability.tracing import annotate_caller
from ragwright.service.keys import MULTIPLE_AUTHORIZATION, KeyStore

MCP_PATH = "/mcp"
MAX_BODY_BYTES = 16 * 2**20
"""Largest JSON-RPC request: room for the ``ingest`` schema's biggest document (about 10 MB as base64)."""


class BearerKeyAuth:
    """ASGI middleware: verify the Bearer key of every HTTP request, refuse with 401 JSON, pass the key on."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [bytes(v).decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
        if len(values) > 1:
            await _refuse(send, 400, "bad_request", MULTIPLE_AUTHORIZATION)
            return
        scheme, _, raw = (values[0] if values else "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            await _unauthorized(send, "missing API key: send 'Authorization: Bearer <key>'")
            return
        key = await anyio.to_thread.run_sync(self.keys.verify, raw.strip())
        if key is None:
            await _unauthorized(send, "invalid or revoked API key")
            return
        scope[SCOPE_KEY] = key
        identify(key.tenant, key.key_id)
        annotate_caller(key.tenant, key.key_id)
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, message: str) -> None:
    await _refuse(send, 401, "unauthorized", message, [(b"www-authenticate", b'Bearer realm="ragwright"')])


async def _refuse(
    send: Send, status: int, type_: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": {"type": type_, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_http_app(
    server: Server[Any], keys: KeyStore, *, host: str = "127.0.0.1", allowed_hosts: list[str] | None = None
) -> ASGIApp:
    """The ASGI app serving ``server`` at ``/mcp`` behind :class:`BearerKeyAuth`.

    DNS-rebinding protection stays on for loopback hosts (the SDK's default); ``allowed_hosts`` widens it when the
    server sits behind a proxy under another name.
    """
    security = None
    if allowed_hosts:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts,
            allowed_origins=[f"https://{h}" for h in allowed_hosts],
        )
    inner: Starlette = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=security,
        host=host,
        max_request_body_size=MAX_BODY_BYTES,
    )
    return TraceMiddleware(RequestIdMiddleware(BearerKeyAuth(inner, keys)), paths=frozenset({MCP_PATH}))


async def serve_http(
    server: Server[Any],
    keys: KeyStore,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    log_config: dict[str, Any] | None = None,
) -> None:
    """Run the authenticated streamable HTTP app with uvicorn until interrupted."""
    import uvicorn

    app = build_http_app(server, keys, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", log_config=log_config)
    await uvicorn.Server(config).serve()
