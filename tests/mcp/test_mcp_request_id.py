"""Every MCP tool call has a request id, as every HTTP request does: in its log lines, on its span and in an error
result, so a failure a user reports can be found in the logs (stdio has no X-Request-Id header to carry it)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.errors import StoreError
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.http import build_http_app
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.server import build_server, fixed_key, key_from_http
from ragwright.observability import semconv
from ragwright.observability.logging import JsonFormatter
from ragwright.observability.requests import current_request_id
from ragwright.service.keys import KeyStore
from tests.http.conftest import run_server
from tests.mcp.conftest import texts

_ID = re.compile(r"\(request id ([A-Za-z0-9._:-]+)\)")


class BrokenTools:
    """Tools that fail: ``search`` with a library error, ``answer`` with a bug; ``list_documents`` reports the id
    it ran under. No app behind them (``rw``): the agent approval tools are listed but never called here."""

    rw: Any = None

    async def search(self, key: Any, args: Any) -> dict[str, Any]:
        raise StoreError("disk I/O error")

    async def answer(self, key: Any, args: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    async def list_documents(self, key: Any, args: Any) -> dict[str, Any]:
        return {"request_id": current_request_id()}


async def test_each_tool_call_has_its_own_request_id_in_logs_span_and_error(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_server(BrokenTools(), fixed_key(local_key("acme")), KeyRateLimiter(None))  # type: ignore[arg-type]
    caplog.handler.setFormatter(JsonFormatter())  # formats as each line is logged, as `ragwright mcp` does
    with caplog.at_level(logging.WARNING, logger="ragwright.interfaces.mcp.server"):
        async with Client(server) as client:
            failed = await client.call_tool("search", {"query": "kettle"})
            crashed = await client.call_tool("answer", {"question": "kettle?"})
            listed = await client.call_tool("list_documents", {})
            listed_again = await client.call_tool("list_documents", {})
            invalid = await client.call_tool("search", {"query": ""})

    assert failed.is_error and crashed.is_error and invalid.is_error
    failed_id, crashed_id = (_ID.search(texts(r)).group(1) for r in (failed, crashed))  # type: ignore[union-attr]
    assert _ID.search(texts(invalid))
    ran_under = [r.structured_content["request_id"] for r in (listed, listed_again)]  # type: ignore[index]
    assert None not in ran_under and len({failed_id, crashed_id, *ran_under}) == 4  # one id per call

    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    by_request = {line["request_id"]: line for line in lines}
    assert "StoreError" in by_request[failed_id]["message"] and failed_id in by_request[failed_id]["message"]
    assert "unexpected" in by_request[crashed_id]["message"] and by_request[crashed_id]["tenant"] == "acme"
    by_id = {s.attributes.get(semconv.REQUEST_ID): s.name for s in spans.get_finished_spans() if s.attributes}
    assert by_id[failed_id] == "execute_tool search" and by_id[crashed_id] == "execute_tool answer"


async def test_over_http_a_tool_call_has_the_requests_id(tmp_path: Path) -> None:
    """``mcp --http``: the id in an error result is the request's ``X-Request-Id``, as the logs have it."""
    keys = KeyStore(tmp_path / "keys.sqlite")
    raw, _ = keys.create("acme", scopes=("read",))
    app = build_http_app(build_server(BrokenTools(), key_from_http, KeyRateLimiter(None)), keys)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {raw}", "X-Request-Id": "support-ticket-42"}
    try:
        for base in run_server(app):  # type: ignore[arg-type]
            http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
            async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                failed = await client.call_tool("search", {"query": "kettle"})
    finally:
        keys.close()
    assert failed.is_error and texts(failed).endswith("(request id support-ticket-42)"), texts(failed)
