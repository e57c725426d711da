"""`gateway serve`'s /metrics over real loopback HTTP: requests, latency, tokens, cost, retries, fallbacks, breaker
state and refusals, with bounded labels (no tenant, key or client string), and X-Request-Id on every response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ragwright.config import load_settings
from ragwright.errors import ProviderHTTPError
from ragwright.gateway.build import Gateway
from ragwright.gateway.proxy import ProxyApp, cached_authenticator
from ragwright.observability.metrics import GatewayMetrics
from ragwright.testing import FakeChatModel
from tests.gateway.proxy.conftest import LiveServer

USER = [{"role": "user", "content": "hi"}]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, GatewayMetrics]]:
    prices = tmp_path / "prices.toml"
    prices.write_text('["fake:good"]\ninput = 1000000.0\noutput = 2000000.0\n', encoding="utf-8")  # $1 / $2 a token
    settings = load_settings(
        data_dir=tmp_path / "data",
        gateway={
            "chain": ["fake:bad", "fake:good"],
            "prices_file": str(prices),
            "ledger": True,
            "cache": {"exact": False},
            "retry": {"max_attempts": 2, "base_delay": 0.0},
            "breaker": {"consecutive_failures": 4, "cooldown": 600},
            "rate_limit": {"per_key_rpm": 3},
        },
    )
    metrics = GatewayMetrics()
    gateway: Gateway

    def provider(spec: str) -> FakeChatModel:
        if spec == "fake:bad":
            return FakeChatModel([ProviderHTTPError(503, "down", provider=spec)], cycle=True, name=spec)
        return FakeChatModel(["fine"], cycle=True, name=spec, prices=gateway.prices)

    gateway = Gateway(settings, provider_factory=provider, metrics=metrics)
    metrics.watch(gateway, gateway.ledger)
    verify = {"sk-acme-secret": ("acme", "k42")}.get
    app = ProxyApp(gateway, authenticate=cached_authenticator(verify), metrics=metrics)
    with LiveServer(app) as live:
        yield live.base_url.removesuffix("/v1"), metrics


def test_gateway_metrics_count_what_happened_with_bounded_labels(proxy: tuple[str, GatewayMetrics]) -> None:
    url, _ = proxy
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer sk-acme-secret"}, timeout=30) as c:
        for _ in range(3):
            ok = c.post("/v1/chat/completions", json={"model": "default", "messages": USER})
            assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "fine", ok.text
        refused = c.post("/v1/chat/completions", json={"model": "default", "messages": USER})
        assert refused.status_code == 429
        assert c.post("/v1/chat/completions", json={"model": "acme-made-up", "messages": USER}).status_code == 404
        assert c.get("/no/such/route?tenant=acme").status_code == 404
        scraped = c.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert "acme" not in text and "k42" not in text and "sk-" not in text  # no tenant, key or client string
    found = samples(text)
    assert value(found, "ragwright_gateway_requests_total", route="chat", status="2xx") == 3
    assert value(found, "ragwright_gateway_requests_total", route="chat", status="4xx") == 2
    assert value(found, "ragwright_gateway_requests_total", route="other", status="4xx") == 1
    assert value(found, "ragwright_gateway_request_duration_seconds_count", route="chat") == 5
    ok = {"model": "default", "answered_by": "fake:good"}
    assert value(found, "ragwright_gateway_calls_total", **ok, status="ok", error="") == 3
    assert value(found, "ragwright_gateway_calls_total", model="default", answered_by="none", status="error",
                 error="RateLimited") == 1  # fmt: skip
    assert value(found, "ragwright_gateway_refused_total", model="default", reason="rate_limit") == 1
    input_tokens = value(found, "ragwright_gateway_tokens_total", **ok, kind="input")
    output_tokens = value(found, "ragwright_gateway_tokens_total", **ok, kind="output")
    assert input_tokens > 0 and output_tokens > 0
    assert value(found, "ragwright_gateway_cost_usd_total", **ok) == pytest.approx(input_tokens + 2 * output_tokens)
    # fake:bad failed twice per call (one retry each) until its breaker opened after four failures in a row
    assert value(found, "ragwright_gateway_retries_total", provider="fake:bad", outcome="retried") == 2
    assert value(found, "ragwright_gateway_upstream_attempts_total", provider="fake:bad") == 5  # the last: CircuitOpen
    assert value(found, "ragwright_gateway_breaker_state", provider="fake:bad", state="open") == 1
    assert value(found, "ragwright_gateway_breaker_state", provider="fake:good", state="closed") == 1
    assert value(found, "ragwright_gateway_breaker_opened_total", provider="fake:bad") == 1
    assert value(found, "ragwright_gateway_fallbacks_total", model="default") == 3
    assert value(found, "ragwright_gateway_call_duration_seconds_count", model="default") == 4


def test_every_proxy_response_carries_a_request_id(proxy: tuple[str, GatewayMetrics]) -> None:
    url, _ = proxy
    with httpx.Client(base_url=url, timeout=30) as c:
        mine = c.get("/health", headers={"X-Request-Id": "trace-abc.123:4"})
        assert mine.headers["x-request-id"] == "trace-abc.123:4"
        for bad in (b"a b", b"x" * 200, "é".encode(), b"", b'{"a": 1}'):
            got = c.get("/health", headers={"X-Request-Id": bad}).headers["x-request-id"]
            assert got.encode() != bad and 1 <= len(got) <= 128
        ids = {c.post("/v1/chat/completions", json={}).headers["x-request-id"] for _ in range(3)}  # 401s
        ids.add(c.get("/nowhere").headers["x-request-id"])
        ids.add(c.get("/metrics").headers["x-request-id"])
        assert len(ids) == 5
