"""Issue 12 item 5: the gateway relayed upstream error text verbatim, including a credential the upstream echoed
(``Incorrect API key provided: Bearer sk-...``). Now no error response, stream error event, ledger row or log line
carries a configured provider key, a bearer token or a key-shaped string.

The upstreams are loopback OpenAI servers that quote the Authorization header they received (``Plan.echo_auth``),
or name the configured key in a message, as real providers and proxies do."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.config import load_settings
from ragwright.gateway.proxy import build_proxy
from ragwright.redact import redact
from ragwright.testing.provider_servers import OpenAIServer, Plan

KEY = "loopkey-" + secrets.token_hex(12)  # not key-shaped: only knowing the configured value can catch it
TOKEN = "sk-proj-" + secrets.token_hex(16)  # never configured: caught by its shape
BODY = {"model": "bad:gpt-x", "messages": [{"role": "user", "content": "hi"}]}


def _proxy(tmp_path: Path, bad: OpenAIServer, good: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BAD_UPSTREAM_KEY", KEY)
    settings = load_settings(
        data_dir=tmp_path / "data",
        gateway={
            "chain": ["bad:gpt-x", "good:gpt-y"],
            "retry": {"max_attempts": 1},
            "cache": {"exact": False},
            "providers": {
                "bad": {"kind": "openai", "base_url": bad.base_url, "api_key": "env:BAD_UPSTREAM_KEY"},
                "good": {"kind": "openai", "base_url": good.base_url},
            },
        },
    )
    return settings, build_proxy(settings)


def test_upstream_echoes_of_credentials_never_leave_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve_proxy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with OpenAIServer(default=Plan(status=401, echo_auth=True)) as bad, OpenAIServer() as good:
        settings, proxy = _proxy(tmp_path, bad, good, monkeypatch)
        url = serve_proxy(proxy)
        with httpx.Client(base_url=url, timeout=30) as c:
            plain = c.post("/chat/completions", json=BODY)
            streamed = c.post("/chat/completions", json={**BODY, "stream": True})
            bad.enqueue(Plan(status=401, error_message=f"the key {KEY} was revoked; token {TOKEN}"))
            named = c.post("/chat/completions", json=BODY)
            fell_back = c.post("/chat/completions", json={**BODY, "model": "default"})  # bad fails, good answers
        assert bad.requests[0].headers["authorization"] == f"Bearer {KEY}"  # the upstream did get the key
        assert (plain.status_code, streamed.status_code, named.status_code) == (502, 502, 502)
        assert "Incorrect API key provided: Bearer [redacted]" in plain.text
        assert fell_back.status_code == 200 and fell_back.json()["ragwright"]["attempts"][0][1]  # the failure is told
        replies = [plain.text, streamed.text, named.text, fell_back.text]
        assert proxy.gateway.ledger.flush()
    proxy_ledger = sqlite3.connect(settings.ledger_path)
    rows = " ".join(str(r) for r in proxy_ledger.execute("SELECT * FROM usage").fetchall())
    proxy_ledger.close()
    logs = " ".join(r.getMessage() for r in caplog.records)
    for where, text in {"responses": " ".join(replies), "ledger": rows, "logs": logs}.items():
        assert KEY not in text and TOKEN not in text, where


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Incorrect API key provided: Bearer sk-proj-abcdefgh12345678",
            "Incorrect API key provided: Bearer [redacted]",
        ),
        ("x-api-key: sk-ant-api03-abcdefgh", "x-api-key: [redacted]"),
        ('{"api_key": "abc123456789"}', '{"api_key": "[redacted]"}'),
        ("GET https://host/v1?key=AIzaSyABCDEF&alt=sse", "GET https://host/v1?key=[redacted]&alt=sse"),
        ("rw_0123456789abcdef is revoked", "[redacted] is revoked"),
        ("maximum context length is 8192 tokens; the token budget is spent", None),  # nothing secret: unchanged
        ("secret env:OPENAI_API_KEY is not set", None),  # a reference, not a value
    ],
)
def test_redact(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)
