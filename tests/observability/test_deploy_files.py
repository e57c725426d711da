"""Every ragwright_* metric the Grafana dashboard and the Prometheus alerts in deploy/ use exists: scraped from a
running `serve` and a running `gateway serve` on loopback (families with no samples yet count: they are declared)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ragwright.config import load_settings
from ragwright.gateway.proxy import build_proxy
from tests.gateway.proxy.conftest import LiveServer
from tests.http.conftest import Server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAME = re.compile(r"\bragwright_[a-z0-9_]+")
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}


def exposed(text: str) -> set[str]:
    """Every series name a scrape may hold, from the families it declares."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(s.name for s in family.samples)
    return names


def expressions() -> dict[str, list[str]]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    alerts = yaml.safe_load((DEPLOY / "prometheus-alerts.yaml").read_text(encoding="utf-8"))
    rules = [rule for group in alerts["groups"] for rule in group["rules"]]
    assert panels and rules
    return {
        **{f"panel {p['title']!r}": [t["expr"] for t in p["targets"]] for p in panels},
        **{f"alert {r['alert']}": [r["expr"]] for r in rules},
    }


@pytest.fixture
def gateway_url(tmp_path: Path) -> Iterator[str]:
    proxy = build_proxy(load_settings(data_dir=tmp_path / "gw"))
    with LiveServer(proxy) as live:
        yield live.base_url.removesuffix("/v1")


def test_every_metric_the_dashboard_and_alerts_use_exists(server: Server, gateway_url: str) -> None:
    scraped = exposed(httpx.get(f"{server.url}/metrics", timeout=30).text)
    scraped |= exposed(httpx.get(f"{gateway_url}/metrics", timeout=30).text)
    missing = {
        where: sorted(set(NAME.findall(expr)) - scraped)
        for where, exprs in expressions().items()
        for expr in exprs
        if set(NAME.findall(expr)) - scraped
    }
    assert not missing, missing
    used = {name for exprs in expressions().values() for expr in exprs for name in NAME.findall(expr)}
    assert {
        "ragwright_gateway_breaker_state",
        "ragwright_answer_abstentions_total",
        "ragwright_gateway_cost_usd_total",
    } <= used


def test_the_checker_catches_a_metric_that_does_not_exist(server: Server) -> None:
    scraped = exposed(httpx.get(f"{server.url}/metrics", timeout=30).text)
    assert "ragwright_http_requests_total" in scraped and "ragwright_answer_answerability_bucket" in scraped
    assert "ragwright_http_requests_totl" not in scraped
