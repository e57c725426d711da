"""`ragwright gateway serve`: an OpenAI-compatible proxy in front of the gateway, so any OpenAI SDK can use it.

    POST /v1/chat/completions   non-streaming, or SSE with ``stream: true`` (usage in a final chunk when
                                ``stream_options.include_usage``; an error event, never a silent end, if the
                                upstream fails after the first chunk)
    GET  /v1/models             the model names the gateway serves
    GET  /health                liveness, for load balancers and the overhead benchmark

The hot path is deliberately plain: a raw ASGI app (no framework routing or middleware: a profile showed them at
~10% of the proxy's CPU), hand-written request checks, orjson, no per-request logging, and the ledger's
non-blocking ``record``. Errors are OpenAI-shaped
(``{"error": {"message", "type", "code"}}``) with the status a client can act on: 400 invalid request, 401 bad key,
404 unknown model, 429 rate limit or budget (with ``Retry-After``), 502/503/504 upstream failures.

Example::

    proxy = build_proxy(settings)                 # the configured gateway, pooled upstream client
    serve(proxy, host="127.0.0.1", port=8100)     # uvicorn on uvloop + httptools
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import suppress
from typing import Any, Protocol, cast

import orjson

from ragwright.config import Settings
from ragwright.errors import ConfigError, GatewayError, RagwrightError, UserError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.policies.ledgered import Ledgered
from ragwright.gateway.proxy_auth import Authenticator, cached_authenticator
from ragwright.gateway.proxy_wire import (
    InvalidRequest,
    Options,
    chunk_delta,
    chunk_json,
    completion_json,
    error_body,
    error_status,
    parse_chat_request,
    retry_after_header,
    usage_json,
)
from ragwright.gateway.types import ChatRequest, Chunk, RequestContext

__all__ = ["Authenticator", "ModelSource", "ProxyApp", "build_proxy", "cached_authenticator", "serve"]

log = logging.getLogger("ragwright.gateway.proxy")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]
"""(status, JSON body, extra headers)"""

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
_CHAT_PATHS = frozenset(("/v1/chat/completions", "/chat/completions"))
_MODEL_PATHS = frozenset(("/v1/models", "/models"))


class ModelSource(Protocol):
    """What the proxy needs from the assembled gateway (``ragwright.gateway.build.Gateway`` satisfies it)."""

    def model(self, name: str) -> ChatModel: ...

    def models(self) -> list[str]: ...


def _error(
    status: int, message: str, kind: str, code: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, orjson.dumps(error_body(message, kind, code, param)), extra


_UNAUTHORIZED = _error(401, "invalid or missing API key", "invalid_request_error", "invalid_api_key")


def gateway_error_response(exc: GatewayError) -> Reply:
    status, kind, code, retry_after = error_status(exc)
    return _error(status, str(exc), kind, code, headers=retry_after_header(retry_after))


def internal_error_response(exc: Exception) -> Reply:
    """500 for what is not the client's fault nor the upstream's: a misconfigured gateway (e.g. a budget over a
    model with no price) or a bug. Logged, since the operator must act."""
    log.error("gateway proxy: %s: %s", type(exc).__name__, exc, exc_info=not isinstance(exc, RagwrightError))
    code = "gateway_misconfigured" if isinstance(exc, ConfigError) else "internal_error"
    return _error(
        500,
        f"{type(exc).__name__}: {exc}" if isinstance(exc, RagwrightError) else "internal error",
        "server_error",
        code,
    )


async def _send_reply(send: Send, reply: Reply) -> None:
    status, body, extra = reply
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
    ) -> None:
        self.gateway = gateway
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
        closer = getattr(self.gateway, "aclose", None)
        if closer is not None:
            await closer()
        if self.ledger is not None:
            await self.ledger.aclose()
        for close in self.closers:
            await close()

    # --- ASGI ---------------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            method = scope["method"]
            if path in _CHAT_PATHS:
                if method != "POST":
                    await _send_reply(send, _error(405, "use POST", "invalid_request_error", "method_not_allowed"))
                    return
                await self._chat(scope, receive, send)
            elif path in _MODEL_PATHS and method == "GET":
                await _send_reply(send, await self._list_models(scope))
            elif path == "/health" and method == "GET":
                await _send_reply(send, (200, b'{"status":"ok"}', []))
            else:
                await _send_reply(send, _error(404, f"no route {method} {path}", "invalid_request_error", "not_found"))
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
        if self.authenticate is not None and await self._context(scope) is None:
            return _UNAUTHORIZED
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "ragwright"} for m in self.gateway.models()]
        return 200, orjson.dumps({"object": "list", "data": data}), []

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = await self._context(scope)
        if ctx is None:
            await _send_reply(send, _UNAUTHORIZED)
            return
        body = await self._body(receive)
        if body is None:
            await _send_reply(
                send,
                _error(
                    413, f"request body over {self.max_body_bytes} bytes", "invalid_request_error", "body_too_large"
                ),
            )
            return
        try:
            req, opts = parse_chat_request(orjson.loads(body), ctx)
        except orjson.JSONDecodeError:
            await _send_reply(send, _error(400, "the body is not valid JSON", "invalid_request_error", "invalid_json"))
            return
        except InvalidRequest as exc:
            await _send_reply(send, _error(400, str(exc), "invalid_request_error", "invalid_request", param=exc.param))
            return
        model = self._model(req.model)
        if model is None:
            await _send_reply(
                send,
                _error(
                    404,
                    f"the model {req.model!r} does not exist",
                    "invalid_request_error",
                    "model_not_found",
                    param="model",
                ),
            )
            return
        if opts.stream:
            await self._stream(model, req, opts, receive, send)
            return
        try:
            resp = await model.chat(req)
        except GatewayError as exc:
            await _send_reply(send, gateway_error_response(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a JSON error the client can read, not a bare 500 page
            await _send_reply(send, internal_error_response(exc))
            return
        await _send_reply(send, (200, orjson.dumps(completion_json(resp, opts)), []))

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
        auth = tenant = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name == b"x-ragwright-tenant":
                tenant = value
        if self.authenticate is None:
            return self._default_ctx if not tenant else RequestContext(tenant=tenant.decode("latin-1"))
        if auth is None:
            return None
        scheme, _, raw = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        return await self.authenticate(raw.strip())

    def _model(self, name: str) -> ChatModel | None:
        model = self._models.get(name)
        if model is not None:
            return model
        if self._served is None:
            self._served = frozenset(self.gateway.models())
        if name not in self._served:
            # only the names /v1/models lists: an arbitrary provider:model from a client would build (and keep)
            # a new chain, breaker and client state per name, a memory leak any caller could drive
            return None
        try:
            model = self.gateway.model(name)
        except (UserError, KeyError, ValueError):
            return None
        if self.ledger is not None:
            model = cast(ChatModel, Ledgered(model, self.ledger))
        self._models[name] = model
        return model

    async def _stream(self, model: ChatModel, req: ChatRequest, opts: Options, receive: Receive, send: Send) -> None:
        chunks = model.stream(req)
        try:
            first: Chunk | None = await anext(chunks)
        except StopAsyncIteration:
            first = None
        except GatewayError as exc:  # before the first chunk: a plain error response, the status says it all
            await _send_reply(send, gateway_error_response(exc))
            return
        except Exception as exc:  # noqa: BLE001
            await _send_reply(send, internal_error_response(exc))
            return
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        pump = asyncio.ensure_future(self._pump(send, chunks, first, req.model, opts))
        watch = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                if not task.done():
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task  # cancelling the pump closes the upstream stream (and records it)

    async def _pump(
        self, send: Send, chunks: AsyncIterator[Chunk], first: Chunk | None, requested: str, opts: Options
    ) -> None:
        async for event in self._sse(chunks, first, requested, opts):
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _sse(
        self, chunks: AsyncIterator[Chunk], first: Chunk | None, requested: str, opts: Options
    ) -> AsyncIterator[bytes]:
        dumps = orjson.dumps
        name = requested
        chunk = first
        is_first = True
        finished = False
        try:
            while chunk is not None:
                name = chunk.model or name
                if is_first or chunk.delta or chunk.tool_calls:
                    yield b"data: " + dumps(chunk_json(opts, name, chunk_delta(chunk, is_first))) + b"\n\n"
                    is_first = False
                if chunk.finish_reason is not None:
                    finished = True
                    yield b"data: " + dumps(chunk_json(opts, name, {}, chunk.finish_reason)) + b"\n\n"
                    if opts.include_usage and chunk.usage is not None:
                        last: dict[str, Any] = {
                            "id": opts.id,
                            "object": "chat.completion.chunk",
                            "created": opts.created,
                            "model": name,
                            "choices": [],
                            "usage": usage_json(chunk.usage),
                        }
                        yield b"data: " + dumps(last) + b"\n\n"
                chunk = await anext(chunks, None)
            if not finished:
                yield _sse_error(
                    "the upstream stream ended without a final chunk", "upstream_error", "stream_incomplete"
                )
                return
            yield b"data: [DONE]\n\n"
        except GatewayError as exc:
            _, kind, code, _ = error_status(exc)
            yield _sse_error(str(exc), kind, code)
        except Exception as exc:  # noqa: BLE001 - the client must see an error event, whatever broke
            yield _sse_error(f"internal error: {type(exc).__name__}", "server_error", "internal_error")
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()


def _sse_error(message: str, kind: str, code: str) -> bytes:
    return b"data: " + orjson.dumps(error_body(message, kind, code)) + b"\n\n"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def build_proxy(settings: Settings, *, authenticate: Authenticator | None = None) -> ProxyApp:
    """The proxy over ``build_gateway(settings)``, whose HTTP providers share one
    :class:`~ragwright.gateway.lean_client.LeanAsyncClient` (an ``httpx.AsyncClient``) on
    :class:`~ragwright.gateway.transport.PooledTransport` (httpx's default pool collapses under concurrency)."""
    import httpx

    from ragwright.gateway.build import build_gateway
    from ragwright.gateway.lean_client import LeanAsyncClient
    from ragwright.gateway.pricing import PriceTable
    from ragwright.gateway.providers.http import httpx_timeout
    from ragwright.gateway.registry import make_chat_model
    from ragwright.gateway.transport import PooledTransport

    prices = PriceTable.load(settings.gateway.prices_file)
    client: httpx.AsyncClient = LeanAsyncClient(
        transport=PooledTransport(), timeout=httpx_timeout(settings.gateway.timeout)
    )

    def provider(spec: str) -> ChatModel:
        return make_chat_model(spec, settings.gateway, prices=prices, client=client)

    gateway = build_gateway(settings, prices=prices, provider_factory=provider)
    return ProxyApp(gateway, authenticate=authenticate, default_tenant=settings.tenant, closers=[client.aclose])


def serve(app: ProxyApp, *, host: str = "127.0.0.1", port: int = 8100, log_level: str = "warning") -> None:
    """Run the proxy with uvicorn on uvloop + httptools, one process (limits and budgets stay exact in memory)."""
    import gc

    import uvicorn

    gc.collect()
    gc.freeze()  # startup objects (config, price table, imports) leave the collector's generations for good
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
