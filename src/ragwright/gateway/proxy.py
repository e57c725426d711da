"""`ragwright gateway serve`: an OpenAI-compatible proxy in front of the gateway, so any OpenAI SDK can use it.

    POST /v1/chat/completions   non-streaming, or SSE with ``stream: true`` (usage in a final chunk when
                                ``stream_options.include_usage``; an error event, never a silent end, if the
                                upstream fails after the first chunk)
    GET  /v1/models             the model names the gateway serves
    GET  /health                liveness, for load balancers and the overhead benchmark
    GET  /metrics               Prometheus metrics (:mod:`ragwright.observability.metrics`), when built with them

Every response carries ``X-Request-Id`` (the client's, when sane, else a fresh one: :mod:`ragwright.observability.
requests`); the id rides on the request's ``RequestContext`` into the usage ledger.

The hot path is deliberately plain: a raw ASGI app (no framework routing or middleware: a profile showed them at
~10% of the proxy's CPU), hand-written request checks, orjson, no per-request logging, and the ledger's
non-blocking ``record``. Errors are OpenAI-shaped (``{"error": {"message", "type", "code"}}``) with the status a
client can act on, from the table the HTTP service shares (:mod:`ragwright.errors_http`): 400 invalid request,
401 bad key, 404 unknown model, 429 rate limit or budget (with ``Retry-After``), 502/503/504 upstream failures.
Streaming responses are in :mod:`ragwright.gateway.proxy_stream`.

Example::

    proxy = build_proxy(settings)                 # the configured gateway, pooled upstream client
    serve(proxy, host="127.0.0.1", port=8100)     # uvicorn on uvloop + httptools
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

import orjson

from ragwright.config import Settings
from ragwright.errors import UnknownModel
from ragwright.gateway.base import ChatModel, ModelSource
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.policies.ledgered import Ledgered
from ragwright.gateway.proxy_auth import Authenticator, cached_authenticator, tenant_from_header
from ragwright.gateway.proxy_stream import Receive, Reply, Send, error_reply, send_reply, stream_response
from ragwright.gateway.proxy_wire import InvalidRequest, completion_json, error_body, parse_chat_request
from ragwright.gateway.types import RequestContext
from ragwright.observability.asgi import TraceMiddleware
from ragwright.observability.requests import HEADER, accept, begin, identify, incoming
from ragwright.observability.tracing import annotate_caller, configure
from ragwright.redact import quote_id

if TYPE_CHECKING:
    from ragwright.observability.metrics import GatewayMetrics

__all__ = ["Authenticator", "ModelSource", "ProxyApp", "build_proxy", "cached_authenticator", "serve"]

log = logging.getLogger("ragwright.gateway.proxy")
Scope = MutableMapping[str, Any]

_CHAT_PATHS = frozenset(("/v1/chat/completions", "/chat/completions"))
_MODEL_PATHS = frozenset(("/v1/models", "/models"))


def _error(status: int, message: str, kind: str, code: str, *, param: str | None = None) -> Reply:
    """An error the proxy decides itself (auth, body, route); library errors go through :func:`error_reply`."""
    return status, orjson.dumps(error_body(message, kind, code, param)), []


_UNAUTHORIZED = _error(401, "invalid or missing API key", "unauthorized", "invalid_api_key")
_METHOD_NOT_ALLOWED = _error(405, "use POST", "method_not_allowed", "method_not_allowed")
# Fixed: the request's path and method are not echoed back (a path may carry a secret, or text meant for a reader).
_NOT_FOUND = _error(404, "no such route", "not_found", "not_found")


class ProxyApp:
    """The proxy as an ASGI application (``proxy.asgi()`` or the object itself), independent of the server."""

    def __init__(
        self,
        gateway: ModelSource,
        *,
        ledger: UsageLedger | None = None,
        authenticate: Authenticator | None = None,
        default_tenant: str = "default",
        max_body_bytes: int = 4 * 1024 * 1024,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.closers = list(closers)
        self.ledger = ledger
        self.authenticate = authenticate
        self.default_tenant = default_tenant
        self.max_body_bytes = max_body_bytes
        self._models: dict[str, ChatModel] = {}
        self._served: frozenset[str] | None = None
        self._default_ctx = RequestContext(tenant=default_tenant)

    def asgi(self) -> ProxyApp:
        return self

    async def aclose(self) -> None:
        await self.gateway.aclose()
        if self.ledger is not None:
            await self.ledger.aclose()
        for close in self.closers:
            await close()

    # --- ASGI ---------------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            started = perf_counter()
            request_id = begin(accept(incoming(scope))).request_id
            header = (HEADER, request_id.encode("ascii"))
            path = scope["path"]
            method = scope["method"]
            if path in _CHAT_PATHS:
                route = "chat"
                if method != "POST":
                    status = await send_reply(send, _METHOD_NOT_ALLOWED, header)
                else:
                    status = await self._chat(scope, receive, send, request_id, header)
            elif path in _MODEL_PATHS and method == "GET":
                route, status = "models", await send_reply(send, await self._list_models(scope), header)
            elif path == "/health" and method == "GET":
                route, status = "health", await send_reply(send, (200, b'{"status":"ok"}', []), header)
            elif path == "/metrics" and method == "GET" and self.metrics is not None:
                route, status = "metrics", await self._send_metrics(send, header)
            else:
                route = "other"
                status = await send_reply(send, _NOT_FOUND, header)
            if self.metrics is not None:
                self.metrics.http(route, status, perf_counter() - started)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # --- routes -------------------------------------------------------------------------------------------------

    async def _list_models(self, scope: Scope) -> Reply:
        try:
            ctx = await self._context(scope)
        except InvalidRequest as exc:
            return _error(400, str(exc), "bad_request", "invalid_request")
        if ctx is None:
            return _UNAUTHORIZED
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "ragwright"} for m in self.gateway.models()]
        return 200, orjson.dumps({"object": "list", "data": data}), []

    async def _chat(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, header: tuple[bytes, bytes]
    ) -> int:
        try:
            who = await self._context(scope)
        except InvalidRequest as exc:
            return await send_reply(send, _error(400, str(exc), "bad_request", "invalid_request"), header)
        if who is None:
            return await send_reply(send, _UNAUTHORIZED, header)
        identify(who.tenant, who.key_id)
        annotate_caller(who.tenant, who.key_id)
        ctx = RequestContext(tenant=who.tenant, key_id=who.key_id, tags=who.tags, request_id=request_id)
        body = await self._body(receive)
        if body is None:
            too_large = f"request body over {self.max_body_bytes} bytes"
            return await send_reply(send, _error(413, too_large, "payload_too_large", "body_too_large"), header)
        try:
            req, opts = parse_chat_request(orjson.loads(body), ctx)
        except orjson.JSONDecodeError:
            return await send_reply(
                send, _error(400, "the body is not valid JSON", "bad_request", "invalid_json"), header
            )
        except InvalidRequest as exc:
            reply = _error(400, str(exc), "bad_request", "invalid_request", param=exc.param)
            return await send_reply(send, reply, header)
        try:
            model = self._model(req.model)
        except UnknownModel as exc:
            return await send_reply(send, error_reply(exc), header)
        if opts.stream:
            return await stream_response(model, req, opts, receive, send, header)
        try:
            resp = await model.chat(req)
        except Exception as exc:  # noqa: BLE001 - a JSON error the client can read, not a bare 500 page
            return await send_reply(send, error_reply(exc), header)
        return await send_reply(send, (200, orjson.dumps(completion_json(resp, opts)), []), header)

    async def _send_metrics(self, send: Send, header: tuple[bytes, bytes]) -> int:
        from prometheus_client import CONTENT_TYPE_LATEST

        assert self.metrics is not None
        return await send_reply(send, (200, self.metrics.render(), []), header, CONTENT_TYPE_LATEST.encode())

    # --- helpers ------------------------------------------------------------------------------------------------

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is over the limit."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""
            part = message.get("body", b"")
            size += len(part)
            if size > self.max_body_bytes:
                return None
            parts.append(part)
            if not message.get("more_body", False):
                return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _context(self, scope: Scope) -> RequestContext | None:
        """Who is calling: None for a missing or bad key (401); :class:`InvalidRequest` (400) for a request that
        names itself twice (two ``Authorization`` headers) or an invalid ``X-Ragwright-Tenant``."""
        auth = tenant = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if auth is not None:  # readers disagree on which one counts (HTTP/MCP took the first, we the last)
                    raise InvalidRequest("more than one Authorization header")
                auth = value
            elif name == b"x-ragwright-tenant":
                if tenant is not None:
                    raise InvalidRequest("more than one X-Ragwright-Tenant header")
                tenant = value
        if self.authenticate is None:
            return self._default_ctx if tenant is None else RequestContext(tenant=tenant_from_header(tenant))
        if auth is None:
            return None
        scheme, _, raw = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        return await self.authenticate(raw.strip())

    def _model(self, name: str) -> ChatModel:
        """The served model ``name``; :class:`UnknownModel` for a name ``/v1/models`` does not list."""
        model = self._models.get(name)
        if model is not None:
            return model
        if self._served is None:
            self._served = frozenset(self.gateway.models())
        if name not in self._served:
            # only the names /v1/models lists: an arbitrary provider:model from a client would build (and keep)
            # a new chain, breaker and client state per name, a memory leak any caller could drive
            raise UnknownModel(
                f"the model {quote_id(name)} does not exist: GET /v1/models lists the served ones", name=name
            )
        model = self.gateway.model(name)
        if self.ledger is not None:
            model = cast(ChatModel, Ledgered(model, self.ledger))
        self._models[name] = model
        return model


def build_proxy(settings: Settings, *, authenticate: Authenticator | None = None) -> ProxyApp:
    """The proxy over one :class:`~ragwright.gateway.build.Gateway` for this process, whose HTTP providers share one
    :class:`~ragwright.gateway.lean_client.LeanAsyncClient` (an ``httpx.AsyncClient``) on
    :class:`~ragwright.gateway.transport.PooledTransport` (httpx's default pool collapses under concurrency)."""
    import httpx

    from ragwright.gateway.build import Gateway
    from ragwright.gateway.lean_client import LeanAsyncClient
    from ragwright.gateway.pricing import PriceTable
    from ragwright.gateway.providers.http import httpx_timeout
    from ragwright.gateway.registry import make_chat_model
    from ragwright.gateway.transport import PooledTransport
    from ragwright.observability.metrics import GatewayMetrics

    prices = PriceTable.load(settings.gateway.prices_file)
    client: httpx.AsyncClient = LeanAsyncClient(
        transport=PooledTransport(), timeout=httpx_timeout(settings.gateway.timeout)
    )

    def provider(spec: str) -> ChatModel:
        return make_chat_model(spec, settings.gateway, prices=prices, client=client)

    metrics = GatewayMetrics()
    gateway = Gateway(settings, prices=prices, provider_factory=provider, metrics=metrics)
    configure(settings)
    metrics.watch(gateway, gateway.ledger if settings.gateway.ledger else None)
    return ProxyApp(
        gateway, authenticate=authenticate, default_tenant=settings.tenant, closers=[client.aclose], metrics=metrics
    )


def serve(
    app: ProxyApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8100,
    log_level: str = "warning",
    log_config: dict[str, Any] | None = None,
) -> None:
    """Run the proxy with uvicorn on uvloop + httptools, one process (limits and budgets stay exact in memory)."""
    import gc

    import uvicorn

    gc.collect()
    gc.freeze()  # startup objects (config, price table, imports) leave the collector's generations for good
    uvicorn.run(
        TraceMiddleware(app, paths=_CHAT_PATHS | _MODEL_PATHS, laps=False),  # 3 spans a request: the hot path
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        log_config=log_config,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
