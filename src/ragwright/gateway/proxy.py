"""`ragwright gateway serve`: an OpenAI-compatible proxy in front of the gateway, so any OpenAI SDK can use it.

    POST /v1/chat/completions   non-streaming, or SSE with ``stream: true`` (usage in a final chunk when
                                ``stream_options.include_usage``; an error event, never a silent end, if the
                                upstream fails after the first chunk)
    GET  /v1/models             the model names the gateway serves
    GET  /health                liveness, for load balancers and the overhead benchmark

The hot path is deliberately plain: Starlette routes on raw requests, hand-written request checks, orjson, no
per-request logging, and the ledger's non-blocking ``record``. Errors are OpenAI-shaped
(``{"error": {"message", "type", "code"}}``) with the status a client can act on: 400 invalid request, 401 bad key,
404 unknown model, 429 rate limit or budget (with ``Retry-After``), 502/503/504 upstream failures.

Example::

    app = ProxyApp(build_gateway(settings), ledger=UsageLedger(settings.ledger_path)).asgi()
    uvicorn.run(app, host="127.0.0.1", port=8100, loop="uvloop", http="httptools")
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ragwright.config import Settings
from ragwright.errors import ConfigError, GatewayError, RagwrightError, UserError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.policies.ledgered import Ledgered
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

__all__ = ["Authenticator", "ModelSource", "ProxyApp", "cached_authenticator"]

log = logging.getLogger("ragwright.gateway.proxy")
JSON = "application/json"
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_MAX_MODELS_CACHED = 1024


class ModelSource(Protocol):
    """What the proxy needs from the assembled gateway (``ragwright.gateway.build.Gateway`` satisfies it)."""

    def model(self, name: str) -> ChatModel: ...

    def models(self) -> list[str]: ...


Authenticator = Callable[[str], Awaitable[RequestContext | None]]
"""Raw bearer key -> who is calling (tenant, key id), or None if the key is not valid."""


def cached_authenticator(verify: Callable[[str], tuple[str, str] | None], *, ttl: float = 30.0,
                         max_entries: int = 10_000) -> Authenticator:
    """Wrap a blocking ``verify(raw_key) -> (tenant, key_id) | None`` (e.g. the API key store) so that only the
    first request with a key in each ``ttl`` seconds pays for it, in a worker thread; a revoked key stops working
    within ``ttl``."""
    cache: dict[str, tuple[float, RequestContext | None]] = {}

    async def authenticate(raw: str) -> RequestContext | None:
        digest = hashlib.sha256(raw.encode()).hexdigest()
        now = time.monotonic()
        hit = cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await asyncio.to_thread(verify, raw)
        ctx = RequestContext(tenant=found[0], key_id=found[1]) if found else None
        if len(cache) >= max_entries:
            cache.clear()
        cache[digest] = (now + ttl, ctx)
        return ctx

    return authenticate


def _error(status: int, message: str, kind: str, code: str, *, param: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(error_body(message, kind, code, param)), status_code=status, media_type=JSON,
                    headers=headers)


def gateway_error_response(exc: GatewayError) -> Response:
    status, kind, code, retry_after = error_status(exc)
    return _error(status, str(exc), kind, code, headers=retry_after_header(retry_after))


def internal_error_response(exc: Exception) -> Response:
    """500 for what is not the client's fault nor the upstream's: a misconfigured gateway (e.g. a budget over a
    model with no price) or a bug. Logged, since the operator must act."""
    log.error("gateway proxy: %s: %s", type(exc).__name__, exc, exc_info=not isinstance(exc, RagwrightError))
    code = "gateway_misconfigured" if isinstance(exc, ConfigError) else "internal_error"
    return _error(500, f"{type(exc).__name__}: {exc}" if isinstance(exc, RagwrightError) else "internal error",
                  "server_error", code)


class ProxyApp:
    """The proxy's request handling, independent of the server that runs it (:meth:`asgi` gives the app)."""

    def __init__(self, gateway: ModelSource, *, ledger: UsageLedger | None = None,
                 authenticate: Authenticator | None = None, default_tenant: str = "default",
                 max_body_bytes: int = 4 * 1024 * 1024,
                 closers: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        self.gateway = gateway
        self.closers = list(closers)
        self.ledger = ledger
        self.authenticate = authenticate
        self.default_tenant = default_tenant
        self.max_body_bytes = max_body_bytes
        self._models: dict[str, ChatModel] = {}
        self._default_ctx = RequestContext(tenant=default_tenant)

    def asgi(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await self.aclose()

        return Starlette(routes=[
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/models", self.list_models, methods=["GET"]),
            Route("/models", self.list_models, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ], lifespan=lifespan)

    async def aclose(self) -> None:
        closer = getattr(self.gateway, "aclose", None)
        if closer is not None:
            await closer()
        if self.ledger is not None:
            await self.ledger.aclose()
        for close in self.closers:
            await close()

    # --- routes -------------------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    async def list_models(self, request: Request) -> Response:
        if self.authenticate is not None and await self._context(request) is None:
            return _error(401, "invalid or missing API key", "invalid_request_error", "invalid_api_key")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "ragwright"} for m in self.gateway.models()]
        return Response(orjson.dumps({"object": "list", "data": data}), media_type=JSON)

    async def chat_completions(self, request: Request) -> Response:
        ctx = await self._context(request)
        if ctx is None:
            return _error(401, "invalid or missing API key", "invalid_request_error", "invalid_api_key")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return _error(413, f"request body over {self.max_body_bytes} bytes", "invalid_request_error",
                          "body_too_large")
        try:
            req, opts = parse_chat_request(orjson.loads(await request.body()), ctx)
        except orjson.JSONDecodeError:
            return _error(400, "the body is not valid JSON", "invalid_request_error", "invalid_json")
        except InvalidRequest as exc:
            return _error(400, str(exc), "invalid_request_error", "invalid_request", param=exc.param)
        model = self._model(req.model)
        if model is None:
            return _error(404, f"the model {req.model!r} does not exist", "invalid_request_error",
                          "model_not_found", param="model")
        if opts.stream:
            return await self._stream(model, req, opts)
        try:
            resp = await model.chat(req)
        except GatewayError as exc:
            return gateway_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - a JSON error the client can read, not a bare 500 page
            return internal_error_response(exc)
        return Response(orjson.dumps(completion_json(resp, opts)), media_type=JSON)

    # --- helpers ------------------------------------------------------------------------------------------------

    async def _context(self, request: Request) -> RequestContext | None:
        if self.authenticate is None:
            tenant = request.headers.get("x-ragwright-tenant")
            return self._default_ctx if not tenant else RequestContext(tenant=tenant)
        auth = request.headers.get("authorization", "")
        scheme, _, raw = auth.partition(" ")
        if scheme.lower() != "bearer" or not raw:
            return None
        return await self.authenticate(raw.strip())

    def _model(self, name: str) -> ChatModel | None:
        model = self._models.get(name)
        if model is not None:
            return model
        try:
            model = self.gateway.model(name)
        except (UserError, KeyError, ValueError):
            return None
        if self.ledger is not None:
            model = cast(ChatModel, Ledgered(model, self.ledger))
        if len(self._models) < _MAX_MODELS_CACHED:
            self._models[name] = model
        return model

    async def _stream(self, model: ChatModel, req: ChatRequest, opts: Options) -> Response:
        chunks = model.stream(req)
        try:
            first: Chunk | None = await anext(chunks)
        except StopAsyncIteration:
            first = None
        except GatewayError as exc:  # before the first chunk: a plain error response, the status says it all
            return gateway_error_response(exc)
        except Exception as exc:  # noqa: BLE001
            return internal_error_response(exc)
        return StreamingResponse(self._sse(chunks, first, req.model, opts), media_type="text/event-stream",
                                 headers=_SSE_HEADERS)

    async def _sse(self, chunks: AsyncIterator[Chunk], first: Chunk | None, requested: str,
                   opts: Options) -> AsyncIterator[bytes]:
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
                        last: dict[str, Any] = {"id": opts.id, "object": "chat.completion.chunk",
                                                "created": opts.created, "model": name, "choices": [],
                                                "usage": usage_json(chunk.usage)}
                        yield b"data: " + dumps(last) + b"\n\n"
                chunk = await anext(chunks, None)
            if not finished:
                yield _sse_error("the upstream stream ended without a final chunk", "upstream_error",
                                 "stream_incomplete")
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


def build_proxy(settings: Settings, *, authenticate: Authenticator | None = None) -> ProxyApp:
    """The proxy over ``build_gateway(settings)``, whose HTTP providers share one ``httpx.AsyncClient`` on
    :class:`~ragwright.gateway.transport.PooledTransport` (httpx's default pool collapses under concurrency)."""
    import httpx

    from ragwright.gateway.build import build_gateway
    from ragwright.gateway.pricing import PriceTable
    from ragwright.gateway.providers.http import httpx_timeout
    from ragwright.gateway.registry import make_chat_model
    from ragwright.gateway.transport import PooledTransport

    prices = PriceTable.load(settings.gateway.prices_file)
    client = httpx.AsyncClient(transport=PooledTransport(), timeout=httpx_timeout(settings.gateway.timeout),
                               follow_redirects=False, trust_env=False)

    def provider(spec: str) -> ChatModel:
        return make_chat_model(spec, settings.gateway, prices=prices, client=client)

    gateway = build_gateway(settings, prices=prices, provider_factory=provider)
    return ProxyApp(gateway, authenticate=authenticate, default_tenant=settings.tenant, closers=[client.aclose])


def serve(app: ProxyApp, *, host: str = "127.0.0.1", port: int = 8100, log_level: str = "warning") -> None:
    """Run the proxy with uvicorn on uvloop + httptools, one process (limits and budgets stay exact in memory)."""
    import uvicorn

    uvicorn.run(app.asgi(), host=host, port=port, loop="uvloop", http="httptools", log_level=log_level,
                access_log=False, server_header=False, lifespan="on")
