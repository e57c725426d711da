"""Prometheus metrics of one service, on its own registry (so two apps in one process do not collide).

Labels are bounded: the route *template* (``/v1/jobs/{job_id}``, or ``other`` for unmatched paths), the method, and
the status class (``2xx``...); for answers, the enums of :mod:`ragwright.answering.types` (who answered, why it
abstained, why a model's answer was not used) and the pipeline's stage names. No tenant, key, model or raw path label,
whose values are unbounded.

With ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus_client is imported (``ragwright serve --workers N`` does it),
prometheus_client keeps every value in memory-mapped files in that directory, one per process, and
:meth:`Metrics.render` adds up the files of all the processes, so a scrape sees the whole server whichever worker
answers it. The gauges then say how to combine processes: ``livesum`` (the sum over the processes still running).
"""

from __future__ import annotations

import atexit
import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragwright.answering.types import Answer

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
STAGES = frozenset(
    [f"retrieve.{s}" for s in ("keyword", "embed", "vector", "keyword_wait", "fill", "fuse", "rerank", "fetch")]
    + ["evidence", "generate", "answer"]
)
"""The stage names an answer's ``timings_ms`` may hold (``retrieve.total`` is the retrieval's wall time, so it is left
out; in hybrid mode ``retrieve.keyword`` overlaps ``embed`` + ``vector``, and ``keyword_wait`` is what it added)."""
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, when this process runs in it."""
    return os.environ.get(MULTIPROC_ENV) or None


def mark_process_dead(pid: int | None = None) -> None:
    """Drop a stopped process's ``live*`` gauge files (in multiprocess mode; a no-op otherwise)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid() if pid is None else pid, path)  # type: ignore[no-untyped-call]


_exit_hook = False


class Metrics:
    """The service's counters, histograms and gauges.

    Example::

        metrics = Metrics()
        metrics.requests.labels("POST", "/v1/search", "2xx").inc()
        metrics.render()   # Prometheus text format
    """

    def __init__(self) -> None:
        global _exit_hook
        if multiprocess_dir() is not None and not _exit_hook:
            atexit.register(mark_process_dead)  # this worker's in-flight and pending gauges stop counting
            _exit_hook = True
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ragwright_http_requests_total",
            "HTTP requests served.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ragwright_http_request_duration_seconds",
            "Time to the response headers.",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.in_flight = Gauge(
            "ragwright_http_requests_in_flight",
            "Requests being served.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.rate_limited = Counter(
            "ragwright_http_rate_limited_total", "Requests refused by the per-key limit.", registry=self.registry
        )
        self.jobs = Counter("ragwright_ingest_jobs_total", "Ingest jobs finished.", ["status"], registry=self.registry)
        self.jobs_pending = Gauge(
            "ragwright_ingest_jobs_pending",
            "Ingest jobs queued or running.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.stream_errors = Counter(
            "ragwright_stream_errors_total", "Streams ended by an error event.", registry=self.registry
        )
        self.answers = Counter(
            "ragwright_answers_total", "Answers given, by who answered.", ["answered_by"], registry=self.registry
        )
        self.abstentions = Counter(
            "ragwright_answer_abstentions_total",
            "Answers that abstained, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.model_fallbacks = Counter(
            "ragwright_answer_model_fallbacks_total",
            "Answers where a model was asked but the extractive answer was given, by cause.",
            ["cause"],
            registry=self.registry,
        )
        self.verification_drops = Counter(
            "ragwright_answer_verification_dropped_sentences_total",
            "Generated sentences dropped because the evidence did not support them.",
            registry=self.registry,
        )
        self.answerability = Histogram(
            "ragwright_answer_answerability",
            "Calibrated answerability of each question (abstains under the operating point).",
            registry=self.registry,
            buckets=tuple(round(0.05 * i, 2) for i in range(1, 21)),
        )
        self.stage_latency = Histogram(
            "ragwright_answer_stage_duration_seconds",
            "Time in each stage of answering a question.",
            ["stage"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    def observe_answer(self, answer: Answer) -> None:
        """Count one answer: who gave it, an abstention's reason, dropped sentences, answerability, stage times."""
        self.answers.labels(answer.answered_by.value).inc()
        if answer.abstention is not None:
            self.abstentions.labels(answer.abstention.value).inc()
        if answer.fallback is not None:
            self.model_fallbacks.labels(answer.fallback.cause.value).inc()
        if answer.flagged:
            self.verification_drops.inc(len(answer.flagged))
        if answer.answerability is not None:
            self.answerability.observe(answer.answerability)
        for stage, ms in answer.timings_ms.items():
            if stage in STAGES:
                self.stage_latency.labels(stage).observe(ms / 1000.0)

    def render(self) -> bytes:
        """Prometheus text: this registry, or in multiprocess mode the sum over every process's files."""
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def route_template(scope: Scope) -> str:
    """The matched route's path template (the router records it in the scope), or ``other``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "other"


class MetricsMiddleware:
    """Counts and times every HTTP request by route template, method and status class."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled children, looked up once per label set (``labels()`` takes a lock and builds a key each call);
        # the label sets are bounded (route templates x methods x status classes).
        self._latency: dict[str, Any] = {}
        self._requests: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = "other"
        method = scope.get("method", "GET") if scope.get("method") in _METHODS else "other"
        start = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status, route
            if message["type"] == "http.response.start":
                status = int(message["status"])
                route = route_template(scope)
                latency = self._latency.get(route)
                if latency is None:
                    latency = self._latency[route] = self.metrics.latency.labels(route)
                latency.observe(time.perf_counter() - start)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, observe)
        finally:
            self.metrics.in_flight.dec()
            labels = (method, route, f"{status // 100}xx")
            counter = self._requests.get(labels)
            if counter is None:
                counter = self._requests[labels] = self.metrics.requests.labels(*labels)
            counter.inc()
