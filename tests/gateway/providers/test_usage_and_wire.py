"""Costs equal hand-computed values (cached and reasoning tokens at their own rates, chat and stream alike), and the
requests on the wire are what each provider's API expects."""

from __future__ import annotations

import json

import httpx
import pytest

from ragwright.gateway.base import collect
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.gateway.providers.anthropic import AnthropicChatModel
from ragwright.gateway.providers.http import make_client
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.types import ChatRequest, Message, ResponseFormat, Tool, ToolCall, Usage
from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer, Plan
from tests.gateway.providers.conftest import PATIENT

# USD per 1M tokens, every rate distinct so a token counted in the wrong bucket changes the total
TABLE = PriceTable(
    {
        "openai:test-model": Price(input=2.0, cached_input=0.5, output=8.0, reasoning=10.0),
        "anthropic:test-model": Price(input=3.0, cached_input=0.3, output=15.0, cache_write=3.75, cache_write_1h=6.0),
    }
)
REQ = ChatRequest(
    model="x",
    messages=(Message("system", "Be brief."), Message("user", "hi")),
    max_tokens=50,
    temperature=0.2,
    seed=11,
    stop=("\n\n",),
)


async def test_openai_cost_counts_cached_and_reasoning_tokens(
    openai_server: OpenAIServer, client: httpx.AsyncClient
) -> None:
    usage = Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=300, reasoning_tokens=100)
    openai_server.default = Plan(text="the answer", usage=usage)
    model = OpenAIChatModel("test-model", base_url=openai_server.base_url, client=client, prices=TABLE)
    # 600 uncached x 2 + 400 cached x 0.5 + 200 visible x 8 + 100 reasoning x 10, per million
    expected = (600 * 2.0 + 400 * 0.5 + 200 * 8.0 + 100 * 10.0) / 1e6
    reply = await model.chat(REQ)
    assert reply.usage == usage and reply.cost_usd == pytest.approx(expected)
    chunks = [c async for c in model.stream(REQ)]
    assert chunks[-1].usage == usage and chunks[-1].cost_usd == pytest.approx(expected)
    assert all(c.cost_usd is None for c in chunks[:-1])
    wire = openai_server.requests[-1].body
    assert wire["stream"] is True and wire["stream_options"] == {"include_usage": True}


async def test_anthropic_cost_counts_cache_reads_and_writes(
    anthropic_server: AnthropicServer, client: httpx.AsyncClient
) -> None:
    # all input 1000 = 500 fresh + 400 read from cache + 100 written to it
    anthropic_server.default = Plan(text="the answer", usage=Usage(1000, 400, 300, 0), cache_creation_tokens=100)
    model = AnthropicChatModel("test-model", base_url=anthropic_server.url, client=client, prices=TABLE)
    # 500 fresh x 3 + 400 read x 0.3 + 100 written x 3.75 + 300 output x 15, per million = $0.006495
    # (pricing the writes at the input rate, as before, gave 0.006420)
    expected = (500 * 3.0 + 400 * 0.3 + 100 * 3.75 + 300 * 15.0) / 1e6
    assert expected == pytest.approx(0.006495)
    reply = await model.chat(REQ)
    assert reply.usage == Usage(1000, 400, 300, 0, cache_write_tokens=100)
    assert reply.cost_usd == pytest.approx(expected)
    folded = await collect(model.stream(REQ))
    assert folded.usage == reply.usage and folded.cost_usd == pytest.approx(expected)


async def test_anthropic_packaged_prices_bill_cache_writes_at_1_25x(
    anthropic_server: AnthropicServer, client: httpx.AsyncClient, prices: PriceTable
) -> None:
    # claude-sonnet-4-5 list prices: input 3.00, 5m cache write 3.75, cache read 0.30, output 15.00 (USD per 1M)
    anthropic_server.default = Plan(text="ok", usage=Usage(10_000, 4_000, 1_000, 0), cache_creation_tokens=2_000)
    model = AnthropicChatModel("claude-sonnet-4-5", base_url=anthropic_server.url, client=client, prices=prices)
    reply = await model.chat(REQ)
    # 4000 fresh x 3 + 4000 read x 0.3 + 2000 written x 3.75 + 1000 output x 15 = 35,700 -> $0.0357
    assert reply.cost_usd == pytest.approx(0.0357)
    price = prices.get("anthropic:claude-sonnet-4-5")
    assert price is not None and price.cache_write == pytest.approx(1.25 * price.input)
    assert price.cache_write_1h == pytest.approx(2 * price.input)
    assert price.cached_input == pytest.approx(0.1 * price.input)


async def test_unpriced_model_has_unknown_cost_not_zero(openai_server: OpenAIServer, client: httpx.AsyncClient) -> None:
    model = OpenAIChatModel("no-such-model", base_url=openai_server.base_url, client=client, prices=TABLE)
    reply = await model.chat(REQ)
    assert reply.usage.input_tokens > 0 and reply.cost_usd is None


async def test_openai_wire_request(openai_server: OpenAIServer, client: httpx.AsyncClient) -> None:
    model = OpenAIChatModel(
        "gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key="sk-test",
        client=client,
        headers={"OpenAI-Organization": "org-1"},
    )
    call = ToolCall("call_9", "lookup", '{"q": "x"}')
    request = REQ.replace(
        messages=(
            *REQ.messages,
            Message("assistant", None, tool_calls=(call,)),
            Message("tool", "found", tool_call_id="call_9"),
        ),
        tools=(Tool("lookup", "Look up.", {"type": "object", "properties": {}}),),
        tool_choice="lookup",
        response_format=ResponseFormat({"type": "object"}, name="out"),
    )
    await model.chat(request)
    seen = openai_server.requests[-1]
    assert seen.path == "/v1/chat/completions" and seen.headers["authorization"] == "Bearer sk-test"
    assert seen.headers["openai-organization"] == "org-1"
    body = seen.body
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 50 and body["seed"] == 11
    assert body["temperature"] == 0.2 and body["stop"] == ["\n\n"] and "stream" not in body
    assert body["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}],
    }
    assert body["messages"][3] == {"role": "tool", "content": "found", "tool_call_id": "call_9"}
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"] == {"name": "out", "schema": {"type": "object"}, "strict": True}


async def test_anthropic_wire_request(anthropic_server: AnthropicServer, client: httpx.AsyncClient) -> None:
    model = AnthropicChatModel(
        "claude-haiku-4-5", base_url=anthropic_server.url + "/v1", api_key="sk-ant", client=client
    )
    call = ToolCall("toolu_1", "lookup", '{"q": "x"}')
    request = REQ.replace(
        messages=(
            *REQ.messages,
            Message("assistant", "Let me check.", tool_calls=(call,)),
            Message("tool", "found", tool_call_id="toolu_1"),
            Message("user", "and?"),
        ),
        tools=(Tool("lookup", "Look up.", {"type": "object", "properties": {}}),),
        tool_choice="required",
    )
    await model.chat(request)
    seen = anthropic_server.requests[-1]
    assert seen.path == "/v1/messages" and seen.headers["x-api-key"] == "sk-ant"
    assert seen.headers["anthropic-version"] == "2023-06-01" and "authorization" not in seen.headers
    body = seen.body
    assert body["system"] == "Be brief." and body["max_tokens"] == 50 and body["stop_sequences"] == ["\n\n"]
    assert "seed" not in body and body["tool_choice"] == {"type": "any"}
    assert [t["role"] for t in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"},
        {"type": "text", "text": "and?"},
    ]
    assert body["tools"] == [
        {"name": "lookup", "description": "Look up.", "input_schema": {"type": "object", "properties": {}}}
    ]


async def test_anthropic_json_format_is_a_forced_tool(
    anthropic_server: AnthropicServer, client: httpx.AsyncClient
) -> None:
    anthropic_server.default = Plan(text='{"answer": "Paris"}')
    model = AnthropicChatModel("claude-haiku-4-5", base_url=anthropic_server.url, client=client)
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    request = REQ.replace(response_format=ResponseFormat(schema, name="capital"))
    reply = await model.chat(request)
    assert json.loads(reply.text) == {"answer": "Paris"} and reply.finish_reason == "stop"
    assert not reply.message.tool_calls
    body = anthropic_server.requests[-1].body
    assert body["tool_choice"] == {"type": "tool", "name": "capital"} and body["tools"][0]["input_schema"] == schema
    streamed = await collect(model.stream(request))
    assert json.loads(streamed.text) == {"answer": "Paris"} and not streamed.message.tool_calls


async def test_streamed_tool_call_deltas_merge(
    openai_server: OpenAIServer, anthropic_server: AnthropicServer, client: httpx.AsyncClient
) -> None:
    calls = (ToolCall("c1", "first", '{"a": 1, "b": "two"}'), ToolCall("c2", "second", '{"z": [1, 2, 3]}'))
    plan = Plan(text="", tool_calls=calls)
    openai_server.default = plan
    anthropic_server.default = plan
    for model in (
        OpenAIChatModel("m", base_url=openai_server.base_url, client=client),
        AnthropicChatModel("m", base_url=anthropic_server.url, client=client),
    ):
        chunks = [c async for c in model.stream(REQ)]
        assert sum(len(c.tool_calls) for c in chunks) > 2  # really streamed in pieces
        folded = await collect(_replay(chunks))
        assert [(c.id, c.name, json.loads(c.arguments)) for c in folded.message.tool_calls] == [
            (c.id, c.name, json.loads(c.arguments)) for c in calls
        ]
        assert folded.finish_reason == "tool_calls"
        reply = await model.chat(REQ)
        assert [(c.name, json.loads(c.arguments)) for c in reply.message.tool_calls] == [
            (c.name, json.loads(c.arguments)) for c in calls
        ]


async def test_server_that_ignores_stream_flag_still_streams(
    openai_server: OpenAIServer, client: httpx.AsyncClient
) -> None:
    """Some OpenAI-compatible servers answer ``stream: true`` with one JSON completion: accept it whole."""

    class NoStreamServer(OpenAIServer):
        def respond(self, request, plan):  # type: ignore[no-untyped-def]
            if isinstance(request.body, dict):
                request.body.pop("stream", None)
            return super().respond(request, plan)

    with NoStreamServer(default=Plan(text="whole reply", usage=Usage(5, 0, 2, 0))) as server:
        model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, client=client, prices=PriceTable.load())
        folded = await collect(model.stream(REQ))
    assert folded.text == "whole reply" and folded.usage == Usage(5, 0, 2, 0) and folded.cost_usd is not None


async def _replay(chunks):  # type: ignore[no-untyped-def]
    for c in chunks:
        yield c


async def test_streams_and_calls_reuse_pooled_connections(
    openai_server: OpenAIServer, anthropic_server: AnthropicServer, client: httpx.AsyncClient
) -> None:
    for server, model in (
        (openai_server, OpenAIChatModel("m", base_url=openai_server.base_url, client=client)),
        (anthropic_server, AnthropicChatModel("m", base_url=anthropic_server.url, client=client)),
    ):
        for _ in range(5):
            await collect(model.stream(REQ))
            await model.chat(REQ)
        assert server.request_count == 10 and server.connections == 1


async def test_abandoned_stream_releases_its_connection(openai_server: OpenAIServer) -> None:
    openai_server.default = Plan(text="one two three four five six", chunk_delay=0.01)
    # one connection in the pool, and a pool wait of PATIENT.connect: a stream that kept it would fail the next call
    async with make_client(PATIENT, max_connections=1) as client:
        model = OpenAIChatModel("m", base_url=openai_server.base_url, client=client)
        for _ in range(3):
            stream = model.stream(REQ)
            async for _chunk in stream:
                break
            await stream.aclose()  # type: ignore[attr-defined]
        assert (await model.chat(REQ)).text == "one two three four five six"
