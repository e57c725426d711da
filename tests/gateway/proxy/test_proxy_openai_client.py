"""The proxy as the official `openai` client sees it: plain, streaming, tools, models, errors, keys, ledger."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from ragwright.config import load_settings
from ragwright.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    ConfigError,
    ProviderHTTPError,
    ProviderTimeout,
    RateLimited,
)
from ragwright.gateway import RequestContext, ToolCall, Usage
from ragwright.gateway.build import Gateway
from ragwright.gateway.ledger import UsageLedger
from ragwright.gateway.proxy import ProxyApp, build_proxy, cached_authenticator
from ragwright.gateway.usage import summarize
from ragwright.testing import FakeChatModel, Reply
from ragwright.testing.provider_servers import OpenAIServer, Plan

Serve = Callable[[ProxyApp], str]
USER = [{"role": "user", "content": "what is two plus two"}]


def client(base_url: str, key: str = "unused") -> AsyncOpenAI:
    return AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10)


async def test_plain_completion_with_usage_details(serve_proxy: Serve, stub: Any) -> None:
    usage = Usage(input_tokens=12, cached_input_tokens=4, output_tokens=7, reasoning_tokens=2)
    fake = FakeChatModel([Reply("four", usage=usage)], name="fake:small")
    url = serve_proxy(ProxyApp(stub({"rag": fake})))
    resp = await client(url).chat.completions.create(
        model="rag", messages=USER, temperature=0.2, max_tokens=20, seed=7, stop=["\n\n"]
    )
    assert resp.choices[0].message.content == "four" and resp.choices[0].finish_reason == "stop"
    assert resp.model == "fake:small"
    assert resp.usage is not None and (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (12, 7)
    assert resp.usage.prompt_tokens_details.cached_tokens == 4  # type: ignore[union-attr]
    assert resp.usage.completion_tokens_details.reasoning_tokens == 2  # type: ignore[union-attr]
    sent = fake.requests[0]
    assert (sent.model, sent.temperature, sent.max_tokens, sent.seed, sent.stop) == ("rag", 0.2, 20, 7, ("\n\n",))
    assert sent.messages[0].content == "what is two plus two"


def test_sync_client_and_models_list(serve_proxy: Serve, stub: Any) -> None:
    gw = stub({"rag": FakeChatModel(["hello there"]), "openai:gpt-4o-mini": FakeChatModel([])})
    url = serve_proxy(ProxyApp(gw))
    sync = OpenAI(base_url=url, api_key="x", max_retries=0, timeout=10)
    assert [m.id for m in sync.models.list()] == ["rag", "openai:gpt-4o-mini"]
    assert sync.chat.completions.create(model="rag", messages=USER).choices[0].message.content == "hello there"


async def test_streaming_with_usage_in_the_final_chunk(serve_proxy: Serve, stub: Any) -> None:
    fake = FakeChatModel([Reply("the answer is four", usage=Usage(input_tokens=5, output_tokens=4))], name="fake:s")
    url = serve_proxy(ProxyApp(stub({"rag": fake})))
    stream = await client(url).chat.completions.create(
        model="rag", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "the answer is four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 4)
    assert all(c.usage is None for c in chunks[:-1])


async def test_stream_without_include_usage_has_no_usage_chunk(serve_proxy: Serve, stub: Any) -> None:
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel(["a b"])})))
    chunks = [c async for c in await client(url).chat.completions.create(model="rag", messages=USER, stream=True)]
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


async def test_a_stream_cut_after_the_first_chunk_is_an_error_not_a_short_success(
    serve_proxy: Serve, stub: Any
) -> None:
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel([Reply("one two three four", cut_after=2)])})))
    seen: list[str] = []
    stream = await client(url).chat.completions.create(model="rag", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="stream cut") as err:
        async for c in stream:
            seen.append(c.choices[0].delta.content or "")
    assert "".join(seen) == "one two"
    assert isinstance(err.value.body, dict) and err.value.body["code"] == "stream_interrupted"


async def test_a_stream_failing_before_its_first_chunk_gets_a_real_status(serve_proxy: Serve, stub: Any) -> None:
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel([ProviderTimeout("first_token", 3.0)])})))
    with pytest.raises(openai.InternalServerError) as err:
        await client(url).chat.completions.create(model="rag", messages=USER, stream=True)
    assert err.value.status_code == 504


async def test_tool_calls_round_trip_plain_and_streamed(serve_proxy: Serve, stub: Any) -> None:
    call = ToolCall(id="call_1", name="lookup", arguments='{"q": "vat"}')
    fake = FakeChatModel([Reply(tool_calls=(call,)), Reply(tool_calls=(call,))])
    url = serve_proxy(ProxyApp(stub({"rag": fake})))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    c = client(url)
    resp = await c.chat.completions.create(model="rag", messages=USER, tools=tools, tool_choice="auto")
    got = resp.choices[0].message.tool_calls
    assert resp.choices[0].finish_reason == "tool_calls"
    assert got is not None and (got[0].id, got[0].function.name, got[0].function.arguments) == (
        "call_1",
        "lookup",
        '{"q": "vat"}',
    )
    assert fake.requests[0].tools[0].name == "lookup" and fake.requests[0].tool_choice == "auto"
    args = ""
    async for chunk in await c.chat.completions.create(model="rag", messages=USER, tools=tools, stream=True):
        for d in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            args += d.function.arguments or "" if d.function else ""
    assert args == '{"q": "vat"}'


@pytest.mark.parametrize(
    ("error", "status", "exc_type", "code", "retry_after"),
    [
        (RateLimited("key:k1 rpm", retry_after=2.2), 429, openai.RateLimitError, "rate_limit_exceeded", "3"),
        (
            BudgetExceeded("tenant:acme", remaining=0.0, resets_at=4e9),
            429,
            openai.RateLimitError,
            "budget_exceeded",
            None,
        ),
        (ProviderHTTPError(503, provider="openai:x"), 503, openai.InternalServerError, "upstream_503", None),
        (
            AllProvidersFailed([("a:x", ProviderHTTPError(500)), ("b:y", ProviderTimeout("total", 1))]),
            504,
            openai.InternalServerError,
            "upstream_timeout",
            None,
        ),
        (
            AllProvidersFailed([("a:x", ProviderHTTPError(500)), ("b:y", ProviderHTTPError(401))]),
            502,
            openai.InternalServerError,
            "upstream_401",
            None,
        ),
    ],
)
async def test_gateway_errors_map_to_openai_errors(
    serve_proxy: Serve,
    stub: Any,
    error: Exception,
    status: int,
    exc_type: type[Exception],
    code: str,
    retry_after: str | None,
) -> None:
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel([error])})))
    with pytest.raises(exc_type) as err:
        await client(url).chat.completions.create(model="rag", messages=USER)
    assert isinstance(err.value, openai.APIStatusError) and err.value.status_code == status
    assert isinstance(err.value.body, dict) and err.value.body["code"] == code and err.value.body["message"]
    if retry_after is not None:
        assert err.value.response.headers["retry-after"] == retry_after
    if isinstance(error, BudgetExceeded):
        assert int(err.value.response.headers["retry-after"]) > 0


async def test_invalid_requests_and_unknown_models_are_4xx(serve_proxy: Serve, stub: Any) -> None:
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel([])})))
    c = client(url)
    with pytest.raises(openai.NotFoundError) as nf:
        await c.chat.completions.create(model="nope", messages=USER)
    assert nf.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        await c.chat.completions.create(model="rag", messages=[])
    assert bad.value.body["param"] == "messages"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        await c.chat.completions.create(model="rag", messages=USER, temperature=9)
    async with httpx.AsyncClient() as raw:
        r = await raw.post(f"{url}/chat/completions", content=b"{not json", headers={"content-type": "x"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


async def test_api_keys_are_checked_and_name_the_tenant(serve_proxy: Serve, stub: Any) -> None:
    fake = FakeChatModel(["ok"], cycle=True)
    keys = {"sk-good": ("acme", "k42")}
    calls: list[str] = []

    def verify(raw: str) -> tuple[str, str] | None:
        calls.append(raw)
        return keys.get(raw)

    url = serve_proxy(ProxyApp(stub({"rag": fake}), authenticate=cached_authenticator(verify)))
    with pytest.raises(openai.AuthenticationError):
        await client(url, "sk-bad").chat.completions.create(model="rag", messages=USER)
    good = client(url, "sk-good")
    for _ in range(3):
        raw = await good.chat.completions.with_raw_response.create(model="rag", messages=USER)
    context = fake.requests[-1].context
    assert context == RequestContext(tenant="acme", key_id="k42", request_id=raw.headers["x-request-id"])
    assert len({r.context.request_id for r in fake.requests}) == 3  # one id per request, on the usage row too
    assert calls == ["sk-bad", "sk-good"]  # verified once, then served from the in-memory cache
    with pytest.raises(openai.AuthenticationError):
        await client(url, "sk-bad").models.list()


async def test_calls_through_the_proxy_land_in_the_ledger(serve_proxy: Serve, stub: Any, tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.sqlite", flush_ms=10)
    fake = FakeChatModel(["a", "b c", ProviderHTTPError(500)], name="fake:m")
    url = serve_proxy(ProxyApp(stub({"rag": fake}), ledger=ledger))
    c = client(url)
    await c.chat.completions.create(model="rag", messages=USER, extra_headers={"x-ragwright-tenant": "t1"})
    async for _ in await c.chat.completions.create(model="rag", messages=USER, stream=True):
        pass
    with pytest.raises(openai.InternalServerError):
        await c.chat.completions.create(model="rag", messages=USER)
    assert ledger.flush()
    conn = sqlite3.connect(tmp_path / "usage.sqlite")
    rows = conn.execute("SELECT tenant, model, status, stream FROM usage ORDER BY rowid").fetchall()
    conn.close()
    assert rows == [("t1", "fake:m", "ok", 0), ("default", "fake:m", "ok", 1), ("default", None, "error", 0)]


async def test_gateway_faults_that_are_nobodys_request_are_json_500s(serve_proxy: Serve, stub: Any) -> None:
    def misconfigured(request: Any) -> Any:
        raise ConfigError("no price for x:y: a budget cannot hold without one")

    def buggy(request: Any) -> Any:
        raise RuntimeError("boom")

    url = serve_proxy(ProxyApp(stub({"a": FakeChatModel(misconfigured), "b": FakeChatModel(buggy)})))
    c = client(url)
    with pytest.raises(openai.InternalServerError) as a:
        await c.chat.completions.create(model="a", messages=USER)
    assert a.value.status_code == 500 and a.value.body["code"] == "gateway_misconfigured"  # type: ignore[index]
    with pytest.raises(openai.InternalServerError) as b:
        await c.chat.completions.create(model="b", messages=USER, stream=True)
    assert b.value.body["code"] == "internal_error" and "boom" not in str(b.value.body)  # type: ignore[index]


async def test_the_assembled_gateway_applies_its_policies_behind_the_proxy(serve_proxy: Serve, tmp_path: Path) -> None:
    """The real `Gateway` (rate limit, retry, breaker, timeout, ledger) with a scripted provider: a per-key RPM of 2
    lets two calls through and answers the third with 429 and Retry-After; the ledger records all three."""
    settings = load_settings(
        data_dir=tmp_path, gateway={"chain": ["fake:a"], "rate_limit": {"per_key_rpm": 2}, "cache": {"exact": False}}
    )
    gateway = Gateway(settings, provider_factory=lambda spec: FakeChatModel(["fine"], cycle=True, name=spec))
    url = serve_proxy(ProxyApp(gateway, authenticate=cached_authenticator(lambda raw: ("acme", "k1"))))
    c = client(url, "any-key")
    assert [m.id for m in (await c.models.list()).data][:1] == ["default"]
    for _ in range(2):
        assert (await c.chat.completions.create(model="default", messages=USER)).choices[0].message.content == "fine"
    with pytest.raises(openai.RateLimitError) as err:
        await c.chat.completions.create(model="default", messages=USER)
    assert int(err.value.response.headers["retry-after"]) >= 1
    # the gateway could build any provider:model, but the proxy serves only what /v1/models lists
    with pytest.raises(openai.NotFoundError):
        await c.chat.completions.create(model="fake:not-configured", messages=USER)
    await gateway.aclose()
    rows = summarize(settings.ledger_path, by="key")
    assert [(r.group, r.calls, r.errors) for r in rows] == [("k1", 3, 1)]


async def test_build_proxy_serves_a_real_openai_compatible_upstream(serve_proxy: Serve, tmp_path: Path) -> None:
    """`ragwright gateway serve`'s assembly: registry -> OpenAI adapter -> pooled transport -> a loopback server."""
    with OpenAIServer(default=Plan(text="from upstream", usage=Usage(9, 3, 4, 1))) as upstream:
        settings = load_settings(
            data_dir=tmp_path,
            gateway={"chain": ["loop:gpt-x"], "providers": {"loop": {"kind": "openai", "base_url": upstream.base_url}}},
        )
        url = serve_proxy(build_proxy(settings))
        c = client(url)
        resp = await c.chat.completions.create(model="default", messages=USER)
        streamed = [
            ch
            async for ch in await c.chat.completions.create(
                model="loop:gpt-x", messages=USER, stream=True, stream_options={"include_usage": True}
            )
        ]
        assert upstream.request_count == 2 and upstream.connections == 1
    assert resp.choices[0].message.content == "from upstream" and resp.model == "loop:gpt-x"
    assert resp.usage is not None and resp.usage.prompt_tokens_details.cached_tokens == 3  # type: ignore[union-attr]
    assert "".join(ch.choices[0].delta.content or "" for ch in streamed if ch.choices) == "from upstream"
    assert streamed[-1].usage is not None and streamed[-1].usage.completion_tokens == 4


async def test_a_client_leaving_mid_stream_stops_the_upstream_and_is_recorded(
    serve_proxy: Serve, stub: Any, tmp_path: Path
) -> None:
    ledger = UsageLedger(tmp_path / "usage.sqlite", flush_ms=10)
    words = " ".join(f"w{i}" for i in range(200))
    url = serve_proxy(ProxyApp(stub({"rag": FakeChatModel([Reply(words, chunk_delay=0.02)])}), ledger=ledger))
    async with httpx.AsyncClient() as raw:
        async with raw.stream(
            "POST", f"{url}/chat/completions", json={"model": "rag", "messages": USER, "stream": True}
        ) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    break  # leave after the first event: the connection closes
    rows: list[tuple[str, int]] = []
    for _ in range(100):  # the proxy notices the disconnect, cancels the stream, the ledger records it
        ledger.flush()
        if (tmp_path / "usage.sqlite").exists():
            conn = sqlite3.connect(tmp_path / "usage.sqlite")
            rows = conn.execute("SELECT status, stream FROM usage").fetchall()
            conn.close()
            if rows:
                break
        await asyncio.sleep(0.05)
    assert rows == [("cancelled", 1)]  # well before the 4 s the whole stream would take
