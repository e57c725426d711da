"""Spans in memory (the SDK's in-memory exporter) and export accounting: the no-op path, gateway attempts through
``gateway serve`` with fallback and retries, W3C traceparent in and out, redaction, export failures counted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.config import load_settings
from ragwright.gateway.proxy import build_proxy
from ragwright.observability import semconv, tracing
from ragwright.observability.asgi import TraceMiddleware
from ragwright.observability.export import CountingExporter, ExportStats, export_stats
from ragwright.testing.loopback_http import closed_port_url
from ragwright.testing.provider_servers import OpenAIServer, Plan
from tests.gateway.proxy.conftest import LiveServer

CLIENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_with_tracing_off_a_stage_is_one_shared_object_and_nothing_is_recorded() -> None:
    tracing.configure(load_settings())  # the default: off
    assert not tracing.enabled()
    first, second = tracing.stage("a"), tracing.stage("b", {"x": 1})
    assert first is second  # no allocation per stage
    with first as span:
        assert not span.is_recording()
    headers: dict[str, str] = {}
    tracing.inject(headers)
    assert headers == {} and tracing.current_trace_id() is None


def test_gateway_serve_continues_the_clients_trace_and_records_every_attempt(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    with (
        OpenAIServer(default=Plan(status=503)) as bad,
        OpenAIServer(default=Plan(text="fine"), keep_requests=5) as good,
    ):
        settings = load_settings(
            data_dir=tmp_path / "data",
            gateway={
                "chain": ["bad:gpt-x", "good:gpt-y"],
                "retry": {"max_attempts": 2, "base_delay": 0.001, "max_delay": 0.01},
                "cache": {"exact": False},
                "ledger": False,
                "providers": {
                    "bad": {"kind": "openai", "base_url": bad.base_url},
                    "good": {"kind": "openai", "base_url": good.base_url},
                },
            },
        )
        proxy = build_proxy(settings)
        body = {"model": "default", "messages": [{"role": "user", "content": "my key is sk-proj-abcdefghijklmnop"}]}
        with LiveServer(TraceMiddleware(proxy, paths=frozenset({"/v1/chat/completions"}))) as live:
            r = httpx.post(f"{live.base_url}/chat/completions", json=body, headers={"traceparent": CLIENT}, timeout=30)
        assert r.status_code == 200, r.text
        sent = good.requests[0].headers["traceparent"]
    finished = {s.name: s for s in spans.get_finished_spans()}
    server = finished["POST /v1/chat/completions"]
    assert format(server.context.trace_id, "032x") == CLIENT.split("-")[1]
    assert server.parent is not None and format(server.parent.span_id, "016x") == CLIENT.split("-")[2]
    request = finished["chat default"]
    assert request.parent is not None and request.parent.span_id == server.context.span_id
    attempts = sorted((s for s in spans.get_finished_spans() if s.name.startswith("chat gpt-")),
                      key=lambda s: s.start_time or 0)  # fmt: skip
    got = [(s.name, a[semconv.PROVIDER], a[semconv.RETRY], a[semconv.FALLBACK_POSITION], a[semconv.BREAKER])
           for s in attempts if (a := s.attributes or {})]  # fmt: skip
    assert got == [
        ("chat gpt-x", "bad", 0, 0, "closed"),
        ("chat gpt-x", "bad", 1, 0, "closed"),
        ("chat gpt-y", "good", 0, 1, "closed"),
    ]
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in attempts)
    assert (request.attributes or {})[semconv.ATTEMPTS] == 3
    ok = attempts[-1]
    assert sent == f"00-{CLIENT.split('-')[1]}-{format(ok.context.span_id, '016x')}-01"  # to the provider
    attrs = ok.attributes or {}
    assert attrs[semconv.OPERATION] == "chat" and attrs[semconv.RESPONSE_MODEL] == "good:gpt-y"
    assert attrs[semconv.INPUT_TOKENS] > 0 and attrs[semconv.OUTPUT_TOKENS] > 0
    content = str((request.attributes or {})[semconv.INPUT_MESSAGES])  # opted in by the fixture: redacted
    assert "my key is" in content and "sk-proj-abcdefghijklmnop" not in content


def test_message_content_stays_off_spans_unless_opted_in(spans: InMemorySpanExporter) -> None:
    tracing.install(tracing_provider(spans), capture=False)
    with tracing.stage("x") as span:
        tracing.record_content(span, semconv.INPUT_MESSAGES, "the question")
    (finished,) = spans.get_finished_spans()
    assert semconv.INPUT_MESSAGES not in (finished.attributes or {})


def tracing_provider(exporter: InMemorySpanExporter) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


class _Broken(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise OSError("disk full at Bearer sk-proj-abcdefghijklmnop")


def test_export_failures_are_counted_and_logged_never_silent(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    before = export_stats()
    unreachable = CountingExporter("otlp-test", OTLPSpanExporter(endpoint=closed_port_url() + "/v1/traces", timeout=2))
    broken = CountingExporter("broken-test", _Broken())
    exporter = InMemorySpanExporter()
    tracing.install(tracing_provider(exporter))
    with tracing.stage("a"), tracing.stage("b"):
        pass
    finished = exporter.get_finished_spans()
    with caplog.at_level(logging.WARNING, logger="ragwright.observability.export"):
        assert unreachable.export(finished) is SpanExportResult.FAILURE
        assert broken.export(finished) is SpanExportResult.FAILURE
    stats = export_stats()
    for name in ("otlp-test", "broken-test"):
        was = before.get(name, ExportStats())
        assert (stats[name].failures, stats[name].failed_spans) == (was.failures + 1, was.failed_spans + 2)
    assert "OSError" in stats["broken-test"].last_error and "sk-proj" not in stats["broken-test"].last_error
    assert "trace export to otlp-test failed, 2 spans lost" in caplog.text
    assert "sk-proj-abcdefghijklmnop" not in caplog.text
