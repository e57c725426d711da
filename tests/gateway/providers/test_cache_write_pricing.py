"""Prompt-cache writes are priced at their own rate (Anthropic: 1.25x input for 5-minute writes, 2x for 1-hour
writes), never also as plain input; the worst case stays an upper bound; price files accept the new fields.

The split-by-lifetime replies come from a real loopback HTTP server speaking the current Messages API shape
(``usage.cache_creation`` split; ``message_delta`` carrying cumulative counts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.errors import ConfigError
from ragwright.gateway.base import collect
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.gateway.providers.anthropic import AnthropicChatModel
from ragwright.gateway.types import ChatRequest, Message, Usage
from ragwright.testing.loopback_http import LoopbackServer, Plan, Received, Reply, sse

# USD per 1M tokens, every rate distinct so a token counted in the wrong bucket changes the total
TABLE = PriceTable(
    {
        "anthropic:test-model": Price(input=3.0, cached_input=0.3, output=15.0, cache_write=3.75, cache_write_1h=6.0),
        "anthropic:no-write-rate": Price(input=3.0, cached_input=0.3, output=15.0),
    }
)
REQ = ChatRequest(model="x", messages=(Message("user", "hi"),), max_tokens=50)

# 500 fresh + 400 cache reads + 100 cache writes (60 for 5 minutes, 40 for an hour); 300 output
WIRE_USAGE: dict[str, Any] = {
    "input_tokens": 500,
    "cache_read_input_tokens": 400,
    "cache_creation_input_tokens": 100,
    "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
    "output_tokens": 300,
}
USAGE = Usage(1000, 400, 300, 0, cache_write_tokens=100, cache_write_1h_tokens=40)
# 500 x 3 + 400 x 0.3 + 60 x 3.75 + 40 x 6 + 300 x 15 = 1500 + 120 + 225 + 240 + 4500 = 6585 per million
EXPECTED = 6585 / 1e6


class SplitCacheServer(LoopbackServer):
    """Answers every Messages call with ``WIRE_USAGE``; streams report it the way the current API does."""

    def respond(self, request: Received, plan: Plan) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("stream"):
            return Reply(
                body=json.dumps(
                    {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": "m",
                        "content": [{"type": "text", "text": "hello"}],
                        "stop_reason": "end_turn",
                        "usage": WIRE_USAGE,
                    }
                ).encode()
            )
        start = {**WIRE_USAGE, "output_tokens": 1}
        cumulative = {k: v for k, v in WIRE_USAGE.items() if k != "cache_creation"}
        events = [
            sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": "m",
                        "content": [],
                        "usage": start,
                    },
                },
                "message_start",
            ),
            sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            ),
            sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hello"}},
                "content_block_delta",
            ),
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": cumulative}, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]
        return Reply(content_type="text/event-stream", events=events)


@pytest.fixture
def split_server() -> Iterator[SplitCacheServer]:
    with SplitCacheServer() as server:
        yield server  # type: ignore[misc]


async def test_one_hour_cache_writes_at_their_own_rate_chat_and_stream(
    split_server: SplitCacheServer, client: httpx.AsyncClient
) -> None:
    model = AnthropicChatModel("test-model", base_url=split_server.url, client=client, prices=TABLE)
    reply = await model.chat(REQ)
    assert reply.usage == USAGE and reply.cost_usd == pytest.approx(EXPECTED)
    folded = await collect(model.stream(REQ))
    assert folded.text == "hello" and folded.usage == USAGE and folded.cost_usd == pytest.approx(EXPECTED)


async def test_without_write_rates_writes_cost_plain_input(
    split_server: SplitCacheServer, client: httpx.AsyncClient
) -> None:
    model = AnthropicChatModel("no-write-rate", base_url=split_server.url, client=client, prices=TABLE)
    reply = await model.chat(REQ)
    assert reply.cost_usd == pytest.approx((600 * 3.0 + 400 * 0.3 + 300 * 15.0) / 1e6)


def test_cache_write_tokens_are_charged_once() -> None:
    price = Price(input=3.0, cached_input=0.3, output=15.0, cache_write=3.75)
    assert price.cost(Usage(input_tokens=100, cache_write_tokens=100)) == pytest.approx(375 / 1e6)
    # more writes (or 1-hour writes) reported than input: clamped, never a negative fresh-input count
    assert price.cost(
        Usage(input_tokens=100, cached_input_tokens=60, cache_write_tokens=80, cache_write_1h_tokens=90)
    ) == pytest.approx((60 * 0.3 + 40 * 3.75) / 1e6)
    assert (Usage(10, 1, 5, 0, 2, 1) + Usage(20, 2, 6, 1, 3, 2)) == Usage(30, 3, 11, 1, 5, 3)


def test_worst_case_is_an_upper_bound_when_writes_cost_more_than_input() -> None:
    table = PriceTable(
        {
            "anthropic:m": Price(input=3.0, cached_input=0.3, output=15.0, cache_write=3.75, cache_write_1h=6.0),
            "openai:m": Price(input=2.0, cached_input=0.5, output=8.0, reasoning=10.0),
        }
    )
    worst = table.worst_case("anthropic:m", 1000, 100)
    assert worst is not None and worst == pytest.approx((1000 * 6.0 + 100 * 15.0) / 1e6)
    for usage in (
        Usage(1000, 0, 100),
        Usage(1000, 0, 100, cache_write_tokens=1000),
        Usage(1000, 0, 100, cache_write_tokens=1000, cache_write_1h_tokens=1000),
        Usage(1000, 500, 100, cache_write_tokens=500, cache_write_1h_tokens=250),
    ):
        cost = table.cost("anthropic:m", usage)
        assert cost is not None and cost <= worst + 1e-15
    # no write premium: unchanged (input rate, dearer of output and reasoning)
    assert table.worst_case("openai:m", 1000, 100) == pytest.approx((1000 * 2.0 + 100 * 10.0) / 1e6)


def test_price_file_accepts_cache_write_fields(tmp_path: Path) -> None:
    override = tmp_path / "prices.toml"
    override.write_text(
        '["anthropic:custom"]\ninput = 2.0\noutput = 10.0\ncache_write = 2.5\ncache_write_1h = 4.0\n'
        '["openai:custom"]\ninput = 1.0\noutput = 4.0\n',
        encoding="utf-8",
    )
    table = PriceTable.load(override)
    custom = table.get("anthropic:custom")
    assert custom is not None and (custom.cache_write, custom.cache_write_1h) == (2.5, 4.0)
    plain = table.get("openai:custom")
    assert plain is not None and plain.cache_write_rate == plain.cache_write_1h_rate == plain.input == 1.0
    for name in ("anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5"):
        listed = table.get(name)
        assert listed is not None and listed.cache_write == pytest.approx(1.25 * listed.input)
        assert listed.cache_write_1h == pytest.approx(2 * listed.input)
        assert listed.cached_input == pytest.approx(0.1 * listed.input)
    for name in ("openai:gpt-4o-mini", "openai:gpt-4o"):
        openai = table.get(name)
        assert openai is not None and openai.cache_write is None
    bad = tmp_path / "bad.toml"
    bad.write_text('["x:y"]\ninput = 1.0\noutput = 1.0\ncache_writes = 2.0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="cache_writes"):
        PriceTable.load(bad)
