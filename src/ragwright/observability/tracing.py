"""Spans for every stage, on the OpenTelemetry API; one tracer provider per process, installed from ``[observability]``.

The code that does the work marks its stages with :func:`stage` (a context manager) and nothing else::

    with stage("retrieval acme", {semconv.DATA_SOURCE: "acme"}) as span:
        hits = ...
        if span.is_recording():          # attributes that cost something to compute, only when recorded
            span.set_attribute(semconv.HIT_SCORES, [h.score for h in hits])

:func:`configure` installs the SDK's tracer provider with the exporters ``[observability] tracing`` names: the local
trace store (:mod:`.trace_store`, batched off the request path), an OTLP/HTTP collector (the ``otlp`` extra), both, or
the process's own global provider (``external``). Until then, and with ``tracing = "off"``, :func:`stage` returns one
shared no-op object: no span, no context switch, no clock read (``bench/serve_load.py --tracing off``).

W3C trace context: :func:`server_span` continues a client's ``traceparent`` (``serve``, ``gateway serve``, MCP over
HTTP, through :class:`~ragwright.observability.asgi.TraceMiddleware`), :func:`inject` adds the current one to a
provider request, and :func:`hop` takes the caller's context along into the gateway's event-loop thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ragwright.observability import semconv
from ragwright.redact import redact

if TYPE_CHECKING:
    from ragwright.config import ObservabilitySettings, Settings

__all__ = [
    "Attributes",
    "annotate_caller",
    "capture_content",
    "hop",
    "configure",
    "current_trace_id",
    "detached_span",
    "enabled",
    "flush",
    "inject",
    "install",
    "queued",
    "lap",
    "record_content",
    "server_span",
    "shutdown",
    "stage",
]

log = logging.getLogger("ragwright.observability")
T = TypeVar("T")
Attributes = Mapping[str, Any]

_W3C = TraceContextTextMapPropagator()
_lock = threading.Lock()


class _Tracing:
    """What :func:`configure` installed: the tracer, what it was built from, and how to shut it down."""

    def __init__(self, tracer: Tracer, key: tuple[Any, ...], provider: Any, capture: bool) -> None:
        self.tracer = tracer
        self.key = key
        self.provider = provider
        self.capture = capture


_active: _Tracing | None = None


class _NoopStage:
    """The stage of a process without tracing: enters to the invalid span, records nothing."""

    __slots__ = ()

    def __enter__(self) -> Span:
        return INVALID_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


_NOOP = _NoopStage()


class _Stage:
    """A started span made current for the ``with`` block; an exception sets its status and ``error.type``."""

    __slots__ = ("_cm", "_span")

    def __init__(self, cm: AbstractContextManager[Span]) -> None:
        self._cm = cm
        self._span: Span = INVALID_SPAN

    def __enter__(self) -> Span:
        self._span = self._cm.__enter__()
        return self._span

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        if ev is not None:
            self._span.set_attribute(semconv.ERROR_TYPE, type(ev).__name__)
        return self._cm.__exit__(et, ev, tb)


def enabled() -> bool:
    """Whether spans are being recorded (a tracer provider is installed)."""
    return _active is not None


def capture_content() -> bool:
    """Whether message content may go on spans (``observability.capture_content``)."""
    return _active is not None and _active.capture


def stage(
    name: str, attributes: Attributes | None = None, *, kind: SpanKind = SpanKind.INTERNAL
) -> AbstractContextManager[Span]:
    """A span named ``name``, current inside the ``with`` block (the shared no-op when tracing is off)."""
    active = _active
    if active is None:
        return _NOOP
    return _Stage(active.tracer.start_as_current_span(name, kind=kind, attributes=attributes))


def detached_span(name: str, attributes: Attributes | None = None) -> Span:
    """A started CLIENT span that is not made current (the caller ends it): for work spread over several tasks."""
    active = _active
    if active is None:
        return INVALID_SPAN
    return active.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)


def server_span(
    name: str, headers: Iterable[tuple[bytes, bytes]], attributes: Attributes | None = None
) -> AbstractContextManager[Span]:
    """A SERVER span continuing the caller's W3C ``traceparent`` (raw ASGI headers), if it sent a valid one."""
    active = _active
    if active is None:
        return _NOOP
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in (b"traceparent", b"tracestate")}
    parent = _W3C.extract(carrier) if carrier else None
    cm = active.tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return _Stage(cm)


def lap(name: str, started: float, ended: float, attributes: Attributes | None = None) -> None:
    """A finished child of the current span for a stage timed with ``time.perf_counter()`` from ``started`` to
    ``ended`` (the pipelines already time their stages: this turns each timing into a leaf span)."""
    active = _active
    parent = trace.get_current_span()
    if active is None or not parent.is_recording():
        return  # a stage outside any traced operation (a shutdown) is not a trace of its own
    # perf_counter to the wall clock the SDK stamps spans with, anchored now: the two drift apart (by ~5 ms/s on a
    # loaded VM), so an offset taken once at import would misplace stages by whole milliseconds
    wall, perf = time.time_ns(), time.perf_counter()
    start, end = wall - int((perf - started) * 1e9), wall - int((perf - ended) * 1e9)
    # a stage of the current span starts within it: one timed from before the span began (the ASGI middleware's
    # http.request, by however long the process waited before opening the server span) or placed early by the
    # clocks' drift is clipped to the span's start
    parent_start = getattr(parent, "start_time", None)
    if isinstance(parent_start, int) and start < parent_start:
        start, end = parent_start, max(end, parent_start)
    span = active.tracer.start_span(name, start_time=start, attributes=attributes)
    span.set_attribute(semconv.STAGE, name)
    span.end(end_time=end)


def queued(fn: Callable[..., T]) -> tuple[Callable[..., T], Callable[[], None]]:
    """``fn``, which will run on a worker thread, with the wait until it starts recorded as ``queue.worker``, and the
    function the caller calls once it has the result, recording the wait since ``fn`` returned as ``queue.return``
    (a request waiting for a thread, or for its event loop, is a stage like any other)."""
    if _active is None:
        return fn, _nothing
    submitted = time.perf_counter()
    finished: list[float] = []

    def run(*args: Any) -> T:
        lap("queue.worker", submitted, time.perf_counter())
        try:
            return fn(*args)
        finally:
            finished.append(time.perf_counter())

    def back() -> None:
        if finished:
            lap("queue.return", finished[0], time.perf_counter())

    return run, back


def annotate_caller(tenant: str, key_id: str | None) -> None:
    """Record who is calling on the current span (the request's), once the key is verified: the trace's tenant."""
    if _active is not None:
        span = trace.get_current_span()
        span.set_attribute(semconv.TENANT, tenant)
        if key_id is not None:
            span.set_attribute(semconv.KEY_ID, key_id)


def record_content(span: Span, key: str, value: object) -> None:
    """Put message content on ``span`` when the operator opted in (``capture_content``), redacted; never otherwise."""
    if _active is None or not _active.capture or not span.is_recording():
        return
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    span.set_attribute(key, redact(text))


def inject(headers: dict[str, str]) -> None:
    """Add the current span's W3C ``traceparent`` to outgoing ``headers`` (provider requests)."""
    if _active is not None:
        _W3C.inject(headers)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside a recorded span (for logs and ``X-Request-Id``)."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


class Hop:
    """A coroutine sent to another thread's event loop (the gateway's), in the caller's trace context, with both
    hand-offs recorded: ``queue.gateway`` until it starts there, ``queue.return`` from its end until the caller has
    its result (:meth:`back`, called by the caller). Under CPU contention these waits are where the time goes."""

    __slots__ = ("_coro", "_ctx", "_submitted", "_finished")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self._ctx = otel_context.get_current()
        self._submitted = time.perf_counter()
        self._finished: float | None = None

    async def run(self) -> Any:
        token = otel_context.attach(self._ctx)
        lap("queue.gateway", self._submitted, time.perf_counter())
        try:
            return await self._coro
        finally:
            self._finished = time.perf_counter()
            otel_context.detach(token)

    def back(self) -> None:
        if self._finished is not None:
            lap("queue.return", self._finished, time.perf_counter())


def hop(coro: Coroutine[Any, Any, T]) -> tuple[Coroutine[Any, Any, T], Callable[[], None]]:
    """``coro`` wrapped for another thread's loop (see :class:`Hop`) and the function that records its return."""
    if _active is None:
        return coro, _nothing
    h = Hop(coro)
    return h.run(), h.back


def _nothing() -> None:
    return None


# -- the provider ----------------------------------------------------------------------------------------------------


def configure(settings: Settings) -> None:
    """Install the tracer provider ``settings.observability`` describes, for this process (the last call wins; the
    same settings again change nothing). ``tracing = "off"`` removes it, flushing what it holds. A provider given to
    :func:`install` stays until :func:`shutdown`."""
    global _active
    obs = settings.observability
    key = (
        settings.trace_store_path,
        *sorted(obs.otlp_headers.items()),
        *obs.model_dump(exclude={"otlp_headers"}).items(),
    )
    with _lock:
        if _active is not None and (_active.key == key or _active.key[0] == "installed"):
            return  # the same settings again, or a provider the application installed itself (it owns it)
        old, _active = _active, None
        if old is not None and old.provider is not None:
            old.provider.shutdown()
        if obs.tracing == "off":
            return
        if obs.tracing == "external":
            _active = _Tracing(
                trace.get_tracer("ragwright", schema_url=semconv.SCHEMA_URL), key, None, obs.capture_content
            )
            return
        provider = _provider(settings, obs)
        _active = _Tracing(
            provider.get_tracer("ragwright", schema_url=semconv.SCHEMA_URL), key, provider, obs.capture_content
        )


def _provider(settings: Settings, obs: ObservabilitySettings) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    from ragwright.observability.export import CountingExporter

    root = ALWAYS_ON if obs.sample_ratio >= 1.0 else TraceIdRatioBased(obs.sample_ratio)
    provider = TracerProvider(resource=Resource.create({"service.name": obs.service_name}), sampler=ParentBased(root))
    if obs.tracing in ("local", "both"):
        from ragwright.observability.store_exporter import StoreExporter
        from ragwright.observability.trace_store import open_trace_store

        provider.add_span_processor(_batch(CountingExporter("local", StoreExporter(open_trace_store(settings)))))
    if obs.tracing in ("otlp", "both"):
        provider.add_span_processor(_batch(CountingExporter("otlp", _otlp(obs))))
    return provider


def _batch(exporter: Any) -> Any:
    """Spans exported from a background thread, up to 2,048 at a time, once a second; at most 32,768 waiting (beyond
    that the SDK drops them and logs "Queue full, dropping Span")."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(exporter, schedule_delay_millis=1000, max_queue_size=32768, max_export_batch_size=2048)


def _otlp(obs: ObservabilitySettings) -> Any:
    from ragwright.config import resolve_secret
    from ragwright.errors import ConfigError

    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            "observability.tracing = 'otlp' needs the 'otlp' extra: pip install 'ragwright[otlp]'"
        ) from exc
    headers = {name: resolve_secret(value) or "" for name, value in obs.otlp_headers.items()}
    return OTLPSpanExporter(endpoint=obs.otlp_endpoint, headers=headers, timeout=10)


def install(provider: Any, *, capture: bool = False) -> None:
    """Use an SDK ``TracerProvider`` built elsewhere (tests with an in-memory exporter; an embedding application)."""
    global _active
    with _lock:
        _active = _Tracing(provider.get_tracer("ragwright", schema_url=semconv.SCHEMA_URL), ("installed", id(provider)),
                           provider, capture)  # fmt: skip


def flush(timeout_ms: int = 30_000) -> bool:
    """Export every span ended so far (tests, ``ragwright traces`` right after a command); True when done in time."""
    active = _active
    if active is None or active.provider is None:
        return True
    return bool(active.provider.force_flush(timeout_ms))


def shutdown() -> None:
    """Flush and remove the tracer provider: spans stop being recorded."""
    global _active
    with _lock:
        old, _active = _active, None
    if old is not None and old.provider is not None:
        old.provider.shutdown()
