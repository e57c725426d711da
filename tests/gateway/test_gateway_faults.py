"""The whole gateway, built from settings, against loopback servers that play OpenAI and Anthropic and misbehave.

These are the promises of issue 5, item 7, checked end to end through real HTTP: a healthy fallback means success;
upstream attempts stay within the retry budget; breakers open and recover; streams never end in a silent truncated
success; costs equal hand-computed values including cached and reasoning tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragwright.config import Settings, load_settings
from ragwright.errors import StreamInterrupted
from ragwright.gateway import ChatRequest, Message, Usage, collect
from ragwright.gateway.base import ChatModel
from ragwright.gateway.build import Gateway
from ragwright.gateway.policies.breaker import CircuitBreaker
from ragwright.testing.provider_servers import (
    AnthropicServer,
    OpenAIServer,
    Plan,
    cut_stream,
    rate_limited,
    server_error,
    slow_first_token,
)
from tests.gateway.policies.policy_helpers import ManualClock


@pytest.fixture
def servers() -> Iterator[tuple[OpenAIServer, AnthropicServer]]:
    with OpenAIServer() as primary, AnthropicServer() as backup:
        yield primary, backup  # type: ignore[misc]


def _settings(
    tmp_path: Path, primary: OpenAIServer, backup: AnthropicServer, monkeypatch: pytest.MonkeyPatch, **gateway: object
) -> Settings:
    monkeypatch.setenv("RW_TEST_PRIMARY_KEY", "sk-primary")
    monkeypatch.setenv("RW_TEST_BACKUP_KEY", "sk-backup")
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '["primary:gpt-4o-mini"]\ninput = 2.0\ncached_input = 0.5\noutput = 8.0\nreasoning = 10.0\n'
        '["backup:claude-haiku-4-5"]\ninput = 1.0\noutput = 5.0\n'
    )
    config: dict[str, object] = {
        "chain": ["primary:gpt-4o-mini", "backup:claude-haiku-4-5"],
        "ledger": False,
        "prices_file": str(prices),
        "providers": {
            "primary": {"kind": "openai", "base_url": primary.base_url, "api_key": "env:RW_TEST_PRIMARY_KEY"},
            "backup": {
                "kind": "anthropic",
                "base_url": backup.base_url.removesuffix("/v1"),
                "api_key": "env:RW_TEST_BACKUP_KEY",
            },
        },
        "timeout": {"connect": 1.0, "first_token": 0.5, "total": 2.0},
        "retry": {"max_attempts": 3, "base_delay": 0.001, "max_delay": 0.01, "budget_ratio": 0.2, "budget_min": 5},
        "breaker": {"consecutive_failures": 1000, "min_calls": 1000, "cooldown": 0.3},
        "cache": {"exact": False},
    }
    config.update(gateway)
    return load_settings(data_dir=tmp_path / "data", gateway=config)


def breakers(model: ChatModel) -> list[CircuitBreaker]:
    """The circuit breakers inside a wrapped model (policies wrap ``inner``; a fallback holds ``models``)."""
    found: list[CircuitBreaker] = []
    todo: list[object] = [model]
    while todo:
        node = todo.pop()
        if isinstance(node, CircuitBreaker):
            found.append(node)
        todo.extend(getattr(node, "models", []))
        if getattr(node, "inner", None) is not None:
            todo.append(node.inner)  # type: ignore[attr-defined]
    return found


def _req(text: str = "where is the manual") -> ChatRequest:
    return ChatRequest(model="default", messages=(Message("user", text),), max_tokens=50)


async def test_outage_of_the_primary_is_absorbed_within_the_retry_budget(
    tmp_path: Path, servers: tuple[OpenAIServer, AnthropicServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, backup = servers
    primary.default = server_error(503)
    gw = Gateway(_settings(tmp_path, primary, backup, monkeypatch))
    replies = [await gw.chat(_req(f"question {i}")) for i in range(60)]
    assert all(r.model == "backup:claude-haiku-4-5" for r in replies)
    # retries r <= budget_min + 20% of the primary's attempts (60 + r): r <= 21, never 2 retries each (180 attempts)
    assert 60 <= primary.request_count <= 60 + 21
    assert backup.request_count == 60
    await gw.aclose()


async def test_breaker_opens_on_failures_and_recovers_after_cooldown(
    tmp_path: Path, servers: tuple[OpenAIServer, AnthropicServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, backup = servers
    primary.default = server_error(502)
    settings = _settings(
        tmp_path,
        primary,
        backup,
        monkeypatch,
        breaker={"consecutive_failures": 3, "min_calls": 1000, "cooldown": 30},
        retry={"max_attempts": 1},
    )
    gw = Gateway(settings)
    clock = ManualClock()
    for breaker in breakers(gw.model()):
        breaker.clock = clock  # cooldowns pass when the test says so, however slow the machine
    for i in range(10):
        assert (await gw.chat(_req(f"q{i}"))).model == "backup:claude-haiku-4-5"
    assert primary.request_count == 3  # open after 3 failures: the primary is no longer called
    primary.default = Plan()
    clock.advance(29.9)
    assert (await gw.chat(_req("still cooling down"))).model == "backup:claude-haiku-4-5"
    assert primary.request_count == 3
    clock.advance(0.1)
    reply = await gw.chat(_req("after the cooldown"))
    assert reply.model == "primary:gpt-4o-mini" and primary.request_count == 4  # half-open probe succeeded
    assert (await gw.chat(_req("closed again"))).model == "primary:gpt-4o-mini"
    await gw.aclose()


async def test_rate_limited_primary_falls_back_and_costs_are_exact(
    tmp_path: Path, servers: tuple[OpenAIServer, AnthropicServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, backup = servers
    gw = Gateway(_settings(tmp_path, primary, backup, monkeypatch, retry={"max_attempts": 1}))
    primary.enqueue(Plan(text="cached answer", usage=Usage(1000, 400, 300, 100)))
    reply = await gw.chat(_req())
    # 600 uncached * $2 + 400 cached * $0.5 + 200 visible * $8 + 100 reasoning * $10, per 1M tokens
    assert reply.cost_usd == pytest.approx((1200 + 200 + 1600 + 1000) / 1e6)
    primary.enqueue(rate_limited(30))
    backup.enqueue(Plan(text="from backup", usage=Usage(2000, 0, 100, 0)))
    reply = await gw.chat(_req("another question"))
    assert reply.model == "backup:claude-haiku-4-5" and reply.text == "from backup"
    assert reply.cost_usd == pytest.approx((2000 * 1.0 + 100 * 5.0) / 1e6)
    assert [a.model for a in reply.attempts] == ["primary:gpt-4o-mini", "backup:claude-haiku-4-5"]
    await gw.aclose()


async def test_streams_fall_back_before_the_first_token_and_fail_loudly_after_it(
    tmp_path: Path, servers: tuple[OpenAIServer, AnthropicServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, backup = servers
    gw = Gateway(_settings(tmp_path, primary, backup, monkeypatch, retry={"max_attempts": 1}))
    model = gw.model()
    primary.enqueue(slow_first_token(1.5, text="too slow"))
    backup.enqueue(Plan(text="backup streamed this"))
    folded = await collect(model.stream(_req()))
    assert folded.text == "backup streamed this" and folded.model == "backup:claude-haiku-4-5"

    primary.enqueue(cut_stream(3, text="one two three four five six seven eight"))
    received: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for chunk in model.stream(_req("cut me")):
            received.append(chunk.delta)
    assert "".join(received)  # content had reached the caller before the cut: no fallback, an explicit error
    assert backup.request_count == 1
    await gw.aclose()
