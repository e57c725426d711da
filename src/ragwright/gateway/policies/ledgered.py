"""`Ledgered` (alias `Recorded`): a policy that writes every call's outcome to the usage ledger, off the request path.

It wraps the outermost model (so it sees the model asked for, the fallback path, cache hits and the final cost) and
hands one :class:`~ragwright.gateway.ledger.UsageRecord` per call to :meth:`UsageLedger.record`, which only appends to
a buffer: no database write happens while the call is in flight.

Example::

    model = Ledgered(Fallback([...]), UsageLedger(settings.ledger_path), requested="default")
    await model.chat(request)          # the record is written by the ledger's writer thread shortly after
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from ragwright.errors import AllProvidersFailed
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.ledger import UsageRecord, UsageSink
from ragwright.gateway.types import Attempt, ChatRequest, ChatResponse, Chunk, Usage
from ragwright.redact import redact

__all__ = ["Ledgered", "Recorded"]


class Ledgered(WrapperModel):
    """Record each ``chat`` and ``stream`` call (success, error or cancelled stream) in ``ledger``.

    ``requested`` is the model name recorded as asked for (the gateway passes the alias it serves); by default the
    request's own ``model``.
    """

    def __init__(self, inner: ChatModel, ledger: UsageSink, *, requested: str | None = None) -> None:
        super().__init__(inner)
        self.ledger = ledger
        self.requested = requested

    async def chat(self, request: ChatRequest) -> ChatResponse:
        t0 = time.perf_counter()
        try:
            resp = await self.inner.chat(request)
        except BaseException as exc:
            self._failed(request, exc, t0, stream=False)
            raise
        model = resp.model or None
        self._record(request, t0, model, resp.usage, resp.cost_usd, resp.saved_usd, resp.cached, _path(resp.attempts))
        return resp

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        t0 = time.perf_counter()
        usage: Usage | None = None
        cost: float | None = None
        model = ""
        cached = False
        try:
            async for chunk in self.inner.stream(request):
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.cost_usd is not None:
                    cost = chunk.cost_usd
                model = chunk.model or model
                cached = cached or chunk.cached
                yield chunk
        except BaseException as exc:
            self._failed(request, exc, t0, stream=True, model=model or None, usage=usage)
            raise
        self._record(request, t0, model or None, usage or _NO_USAGE, cost, 0.0, cached, "", stream=True)

    def _failed(
        self,
        request: ChatRequest,
        exc: BaseException,
        t0: float,
        *,
        stream: bool,
        model: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        cancelled = isinstance(exc, GeneratorExit) or type(exc).__name__ == "CancelledError"
        path = ""
        if isinstance(exc, AllProvidersFailed):
            path = " > ".join(f"{p}({type(e).__name__})" for p, e in exc.attempts)
        status, error = ("cancelled", None) if cancelled else ("error", type(exc).__name__)
        self._record(request, t0, model, usage or _NO_USAGE, None, 0.0, False, path, stream, status, error)

    def _record(
        self,
        request: ChatRequest,
        t0: float,
        model: str | None,
        usage: Usage,
        cost: float | None,
        saved: float,
        cached: bool,
        path: str,
        stream: bool = False,
        status: str = "ok",
        error: str | None = None,
    ) -> None:
        ctx = request.context
        prompt = ctx.prompt
        self.ledger.record(
            UsageRecord(
                time.time(),
                ctx.tenant,
                ctx.key_id,
                self.requested or request.model,
                model,
                _provider(model),
                *_tokens(usage),
                cost,
                saved,
                cached,
                (time.perf_counter() - t0) * 1000.0,
                status,
                error,
                path,
                stream,
                ctx.kb,
                None if prompt is None else prompt.name,
                None if prompt is None else prompt.version,
                ctx.request_id,
            )
        )


_NO_USAGE = Usage()


def _tokens(u: Usage) -> tuple[int, int, int, int, int]:
    """In :class:`UsageRecord` field order: input, cached input, cache writes, output, reasoning."""
    return u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens


def _provider(model: str | None) -> str | None:
    return model.split(":", 1)[0] if model and ":" in model else None


def _path(attempts: tuple[Attempt, ...]) -> str:
    failed = [a for a in attempts if a.error]
    return " > ".join(f"{a.model}({redact(a.error or '')})" for a in failed)


Recorded = Ledgered
