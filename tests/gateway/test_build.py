"""The gateway assembled from settings: chains, aliases, shared per-provider layers, the sync front door."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.answering.types import AnsweredBy, FallbackCause
from ragwright.config import Settings, load_settings
from ragwright.errors import AllProvidersFailed, ConfigError, ProviderHTTPError
from ragwright.gateway import ChatRequest, Message
from ragwright.gateway.build import Gateway, SyncGateway
from ragwright.testing import FakeChatModel


def _settings(tmp_path: Path, **gateway: object) -> Settings:
    base: dict[str, object] = {
        "chain": ["fake:a", "fake:b"],
        "ledger": False,
        "retry": {"max_attempts": 2, "base_delay": 0.0, "max_delay": 0.0},
    }
    base.update(gateway)
    return load_settings(data_dir=tmp_path / "data", gateway=base)


def _req(model: str = "default", text: str = "hello there") -> ChatRequest:
    return ChatRequest(model=model, messages=(Message("user", text),))


async def test_default_chain_falls_back_and_records_the_path(tmp_path: Path) -> None:
    a = FakeChatModel(lambda r: ProviderHTTPError(503, provider="fake:a"), name="fake:a")
    b = FakeChatModel(lambda r: "from b", name="fake:b")
    gw = Gateway(_settings(tmp_path), provider_factory={"fake:a": a, "fake:b": b}.__getitem__)
    reply = await gw.chat(_req())
    assert reply.text == "from b" and reply.model == "fake:b"
    assert a.calls == 2 and b.calls == 1  # one retry on a (max_attempts=2), then b
    assert [x.model for x in reply.attempts][-1] == "fake:b" and reply.attempts[0].error
    await gw.aclose()


async def test_leaves_are_shared_between_names_and_unknown_names_are_config_errors(tmp_path: Path) -> None:
    made: list[str] = []

    def factory(spec: str) -> FakeChatModel:
        made.append(spec)
        return FakeChatModel(lambda r: f"{spec} says hi", name=spec)

    gw = Gateway(_settings(tmp_path, aliases={"cheap": ["fake:b"]}), provider_factory=factory)
    assert (await gw.chat(_req("cheap"))).text == "fake:b says hi"
    assert (await gw.chat(_req("fake:a"))).text == "fake:a says hi"
    assert (await gw.chat(_req())).text == "fake:a says hi"
    assert sorted(made) == ["fake:a", "fake:b"]  # each provider built once, whatever names use it
    assert gw.models() == ["default", "cheap", "fake:a", "fake:b"]
    with pytest.raises(ConfigError, match="unknown model"):
        gw.model("nonsense")
    await gw.aclose()


def test_sync_gateway_runs_calls_on_its_own_loop(tmp_path: Path) -> None:
    a = FakeChatModel(lambda r: ProviderHTTPError(400, provider="fake:a"), name="fake:a")
    b = FakeChatModel(lambda r: ProviderHTTPError(502, provider="fake:b"), name="fake:b")
    sync = SyncGateway(Gateway(_settings(tmp_path), provider_factory={"fake:a": a, "fake:b": b}.__getitem__))
    try:
        with pytest.raises(ProviderHTTPError) as bad_request:  # a 400 is the request's fault: no fallback
            sync.chat(_req())
        assert bad_request.value.status == 400 and b.calls == 0
        a._fn = lambda r: ProviderHTTPError(503, provider="fake:a")
        with pytest.raises(AllProvidersFailed) as failed:
            sync.chat(_req())
        assert [p for p, _ in failed.value.attempts] == ["fake:a", "fake:b"]
    finally:
        sync.close()
    sync.close()  # idempotent


def test_chain_with_no_key_and_no_network_degrades_to_local_then_extractive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented default degradation: openai (no key) -> local -> extractive, and the answer says which."""
    from ragwright.app import Ragwright
    from ragwright.testing import FakeGenerator

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text("# Heat pump\n\nThe outdoor unit runs at 38 dB at night.\n")
    settings = load_settings(
        data_dir=tmp_path / "data",
        embedding={"model": "fake"},
        gateway={"chain": ["openai:gpt-4o-mini", "local:smollm2"]},
    )
    app = Ragwright(settings, generator=FakeGenerator(lambda p: "The outdoor unit runs at 38 dB at night. [1]"))
    try:
        app.ingest([docs])
        answer = app.ask("How loud is the outdoor unit at night?", generator="gateway")
        assert answer.answered_by is AnsweredBy.LOCAL and answer.model == "local:smollm2"
        assert "38 dB" in answer.text and answer.citations
        assert answer.cost_usd == 0.0

        def missing() -> FakeGenerator:
            from ragwright.errors import ModelNotInstalledError

            raise ModelNotInstalledError("the SmolLM2 model is not installed")

        app.close()
        app = Ragwright(settings)
        app._generator = None
        monkeypatch.setattr(Ragwright, "generator", property(lambda self: missing()))
        answer = app.ask("How loud is the outdoor unit at night?", generator="gateway")
        assert answer.answered_by is AnsweredBy.EXTRACTIVE and answer.fallback is not None
        assert answer.fallback.cause is FallbackCause.MODEL_ERROR and answer.fallback.error == "AllProvidersFailed"
        assert "OPENAI_API_KEY" in answer.fallback.detail and "38 dB" in answer.text
    finally:
        app.close()


async def test_per_key_rate_limit_holds_across_model_names(tmp_path: Path) -> None:
    from ragwright.errors import RateLimited
    from ragwright.gateway import RequestContext

    settings = _settings(tmp_path, aliases={"cheap": ["fake:b"]}, rate_limit={"per_key_rpm": 3}, cache={"exact": False})
    gw = Gateway(settings, provider_factory=lambda spec: FakeChatModel(lambda r: "ok", name=spec))
    ctx = RequestContext(tenant="acme", key_id="k1")
    for name in ("default", "cheap", "fake:a"):
        await gw.chat(_req(name).replace(context=ctx))
    with pytest.raises(RateLimited, match="key:k1"):
        await gw.chat(_req("cheap").replace(context=ctx))
    await gw.chat(_req("cheap").replace(context=RequestContext(tenant="acme", key_id="k2")))  # other key: fine
    await gw.aclose()


async def test_one_budget_holds_across_model_names(tmp_path: Path) -> None:
    """Every name shares one set of budget accounts. It did not: an empty InMemoryBudgetStore is falsy, so each
    Budget layer made its own (`store or InMemoryBudgetStore()`), and a tenant could spend its budget once per name."""
    from ragwright.errors import BudgetExceeded
    from ragwright.gateway import RequestContext

    prices = tmp_path / "prices.toml"
    prices.write_text('["fake:a"]\ninput = 0.0\noutput = 1000000.0\n["fake:b"]\ninput = 0.0\noutput = 1000000.0\n')
    settings = _settings(
        tmp_path,
        aliases={"cheap": ["fake:b"]},
        prices_file=str(prices),
        budget={"tenant_usd": 18.0},
        cache={"exact": False},
    )
    gw = Gateway(settings, provider_factory=lambda spec: FakeChatModel(lambda r: "one two three", name=spec))
    ctx = RequestContext(tenant="acme")
    for name in ("default", "cheap", "fake:a"):  # $3 each, each reserving its worst case ($10) first
        await gw.chat(_req(name).replace(context=ctx, max_tokens=10))
    with pytest.raises(BudgetExceeded):  # $9 spent of $18: a $10 reservation no longer fits, whatever the name
        await gw.chat(_req("cheap").replace(context=ctx, max_tokens=10))
    await gw.aclose()


def test_relayed_models_run_on_the_one_gateway_from_another_event_loop(tmp_path: Path) -> None:
    """An eval judge runs on its own event loop; `SyncGateway.relayed` gives it the process's gateway instead of a
    second one: calls and streams run on the gateway's loop, and closing the relayed model closes nothing."""
    import asyncio
    import threading

    from ragwright.gateway import collect

    loops: list[int] = []

    def reply(request: ChatRequest) -> str:
        loops.append(threading.get_ident())
        return "judged"

    a = FakeChatModel(reply, name="fake:a")
    sync = SyncGateway(Gateway(_settings(tmp_path), provider_factory={"fake:a": a, "fake:b": a}.__getitem__))
    try:
        judge = sync.relayed("fake:a")

        async def use() -> tuple[str, str]:
            plain = await judge.chat(_req("fake:a"))
            streamed = await collect(judge.stream(_req("fake:a")))
            await judge.aclose()
            return plain.text, streamed.text

        assert asyncio.run(use()) == ("judged", "judged")
        assert sync.chat(_req("fake:a")).text == "judged"  # the gateway still works after the judge closed
        assert len(set(loops)) == 1 and loops[0] != threading.get_ident() and not a.closed
    finally:
        sync.close()
    assert a.closed
