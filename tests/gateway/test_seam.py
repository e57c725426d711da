"""The gateway seam itself: the scripted fake, stream folding, pricing and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.config import resolve_secret
from ragwright.errors import ConfigError, ProviderHTTPError, StreamInterrupted
from ragwright.gateway import ChatModel, ChatRequest, Message, Usage, collect
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.testing import FakeChatModel, Reply

REQ = ChatRequest(model="fake:a", messages=(Message("user", "what is two plus two"),))


async def test_fake_follows_its_script_and_records_requests() -> None:
    model = FakeChatModel(["four", ProviderHTTPError(503, provider="fake:a")], name="fake:a")
    assert isinstance(model, ChatModel)
    reply = await model.chat(REQ)
    assert reply.text == "four" and reply.model == "fake:a"
    assert reply.usage == Usage(input_tokens=5, output_tokens=1)
    with pytest.raises(ProviderHTTPError) as err:
        await model.chat(REQ)
    assert err.value.transient and err.value.status == 503
    with pytest.raises(AssertionError, match="exhausted"):
        await model.chat(REQ)
    assert model.calls == 3


async def test_stream_folds_into_the_same_response_and_cuts_loudly() -> None:
    model = FakeChatModel(["the answer is four", Reply("one two three", cut_after=2)])
    folded = await collect(model.stream(REQ))
    assert folded.text == "the answer is four" and folded.usage.output_tokens == 4
    seen: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for chunk in model.stream(REQ):
            seen.append(chunk.delta)
    assert seen == ["one", " two"]


def test_price_counts_cached_and_reasoning_tokens_at_their_own_rates() -> None:
    price = Price(input=2.0, cached_input=0.5, output=8.0, reasoning=10.0)
    usage = Usage(input_tokens=1_000, cached_input_tokens=400, output_tokens=300, reasoning_tokens=100)
    # 600 uncached * 2 + 400 cached * 0.5 + 200 visible * 8 + 100 reasoning * 10, per 1M tokens
    assert price.cost(usage) == pytest.approx((1200 + 200 + 1600 + 1000) / 1e6)
    table = PriceTable.load()
    assert table.cost("openai:gpt-4o-mini", Usage(1_000_000, 0, 0, 0)) == pytest.approx(0.15)
    assert table.cost("nobody:unknown", usage) is None
    assert table.cost("local:smollm2", usage) == 0.0


def test_price_override_file_and_bad_entries(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text('["openai:gpt-4o-mini"]\ninput = 1.0\noutput = 2.0\n')
    assert PriceTable.load(good).cost("openai:gpt-4o-mini", Usage(0, 0, 1_000_000, 0)) == pytest.approx(2.0)
    bad = tmp_path / "bad.toml"
    bad.write_text('["x:y"]\ninput = 1.0\n')
    with pytest.raises(ConfigError, match="output"):
        PriceTable.load(bad)


def test_secret_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_TEST_KEY", "sk-123")
    assert resolve_secret("env:RW_TEST_KEY") == "sk-123"
    (tmp_path / "k").write_text("sk-file\n")
    assert resolve_secret(f"file:{tmp_path / 'k'}") == "sk-file"
    monkeypatch.delenv("RW_TEST_KEY")
    with pytest.raises(ConfigError, match="RW_TEST_KEY"):
        resolve_secret("env:RW_TEST_KEY")


def test_provider_overrides_merge_over_the_builtins(tmp_path: Path) -> None:
    from ragwright.config import load_settings

    cfg = tmp_path / "ragwright.toml"
    cfg.write_text(
        '[gateway.providers.openai]\napi_key = "file:/run/secrets/openai"\n'
        '[gateway.providers.groq]\nkind = "openai"\nbase_url = "https://api.groq.com/openai/v1"\n'
    )
    providers = load_settings(cfg).gateway.providers
    assert providers["openai"].base_url == "https://api.openai.com/v1"
    assert providers["openai"].api_key == "file:/run/secrets/openai"
    assert providers["groq"].base_url.startswith("https://api.groq.com") and "anthropic" in providers
    cfg.write_text('[gateway.providers.openai]\napi_key = "sk-live-123"\n')
    with pytest.raises(ConfigError, match="api_key"):
        load_settings(cfg)
