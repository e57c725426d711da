"""Structured JSON logs: request id, trace id, tenant and key id on each line, secrets redacted; checked on the real
output of `ragwright serve --log-format json` and on the formatter with an OpenTelemetry span."""

from __future__ import annotations

import contextvars
import json
import logging
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from ragwright.observability.logging import JsonFormatter
from ragwright.observability.requests import begin, identify
from ragwright.service.keys import KeyStore
from tests.http.conftest import serve_process

SECRET = "rw_0123456789ab_querystringsecretquerystringsecret"


def test_serve_writes_json_lines_with_the_request_id_tenant_and_key(tmp_path: Path) -> None:
    with KeyStore(tmp_path / "idx" / "keys.sqlite") as keys:
        raw, key = keys.create("acme", scopes=("read",))
    with serve_process(tmp_path / "idx", "--log-format", "json", "--log-level", "info") as served:
        headers = {"Authorization": f"Bearer {raw}", "X-Request-Id": "req-42"}
        assert httpx.get(f"{served.url}/v1/documents?api_key={SECRET}", headers=headers, timeout=30).status_code == 200
        refused = httpx.get(f"{served.url}/v1/documents", headers={"Authorization": f"Bearer {SECRET}"}, timeout=30)
        assert refused.status_code == 401
    out = served.output
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is one JSON object
    access = [d for d in lines if d["logger"] == "uvicorn.access"]
    mine = next(d for d in access if d.get("request_id") == "req-42")
    assert (mine["tenant"], mine["key_id"]) == ("acme", key.key_id)
    assert mine["http"] == {"method": "GET", "path": "/v1/documents", "status": 200}
    other = next(d for d in access if d["http"]["status"] == 401)
    assert other["request_id"] == refused.headers["x-request-id"] and "tenant" not in other
    assert SECRET not in out and raw not in out


def test_formatter_adds_trace_ids_and_redacts() -> None:
    contextvars.Context().run(_formatter_adds_trace_ids_and_redacts)  # the request it begins ends with the test


def _formatter_adds_trace_ids_and_redacts() -> None:
    record = logging.LogRecord(
        "ragwright.x", logging.WARNING, __file__, 1, "upstream said %s", ("Bearer sk-abcdef123456",), None
    )
    begin("r-1")
    identify("acme", "k42")
    span = NonRecordingSpan(SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False, TraceFlags(1)))
    with trace.use_span(span):
        doc = json.loads(JsonFormatter().format(record))
    assert doc["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and doc["span_id"] == "00f067aa0ba902b7"
    assert (doc["request_id"], doc["tenant"], doc["key_id"], doc["level"]) == ("r-1", "acme", "k42", "warning")
    assert "sk-abcdef123456" not in doc["message"] and "upstream said" in doc["message"]
    assert "trace_id" not in json.loads(JsonFormatter().format(record))  # no current span: no trace fields
