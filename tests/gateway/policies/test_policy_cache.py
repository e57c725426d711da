"""Cache: exact and semantic hits, the negation/number guard, scoping, TTL, LRU bound, streams."""

from __future__ import annotations

import pytest
from policy_helpers import ManualClock, request

from ragwright.errors import ConfigError, StreamInterrupted
from ragwright.gateway import ChatRequest, ChatResponse, Message, RequestContext, collect
from ragwright.gateway.policies.cache import Cache
from ragwright.gateway.policies.cache_guard import negations, numbers, same_meaning_markers
from ragwright.gateway.policies.cache_store import MemoryCacheStore
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.testing import FakeChatModel, FakeEmbedder, Reply

PRICES = PriceTable({"fake:m": Price(input=1.0, output=2.0)})


def cache(fake: FakeChatModel, clock: ManualClock, **kw: object) -> Cache:
    opts: dict[str, object] = dict(
        exact=True, semantic=False, semantic_threshold=0.95, ttl_seconds=60, max_entries=100, clock=clock
    )
    return Cache(fake, **{**opts, **kw})  # type: ignore[arg-type]


def counting(name: str = "fake:m") -> FakeChatModel:
    counter = iter(range(1_000_000))
    return FakeChatModel(lambda req: f"answer {next(counter)}", name=name, prices=PRICES)


async def test_exact_hit_is_free_and_reports_the_saving(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock)
    first = await model.chat(request("what is the  capital of France"))
    again = await model.chat(request("what is the capital   of France"))  # whitespace is normalised
    assert fake.calls == 1 and again.text == first.text
    assert again.cached and again.cost_usd == 0.0 and first.cost_usd and again.saved_usd == first.cost_usd
    assert not first.cached and model.hits == 1


@pytest.mark.parametrize("change", [dict(max_tokens=99), dict(seed=3), dict(stop=("x",)), dict(temperature=0.0)])
async def test_params_are_part_of_the_key(clock: ManualClock, change: dict[str, object]) -> None:
    fake = counting()
    model = cache(fake, clock)
    await model.chat(request())
    await model.chat(request(**change))
    assert fake.calls == 2


async def test_tenant_and_model_scope_the_key(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock)
    await model.chat(request(tenant="a"))
    await model.chat(request(tenant="b"))
    other = cache(counting("fake:other"), clock)
    assert model.key(request()) != other.key(request())
    assert fake.calls == 2


async def test_sampled_requests_are_not_cached_but_seeded_ones_are(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock)
    for _ in range(2):
        await model.chat(request(temperature=0.7))
    assert fake.calls == 2
    for _ in range(2):
        await model.chat(request(temperature=0.7, seed=1))
    assert fake.calls == 3


async def test_ttl_expires_and_lru_bounds(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock, max_entries=3)
    await model.chat(request("q0"))
    clock.advance(61)
    await model.chat(request("q0"))
    assert fake.calls == 2
    for i in range(1, 4):
        await model.chat(request(f"q{i}"))
    assert len(model) == 3
    await model.chat(request("q0"))  # evicted as least recently used
    assert fake.calls == 6


async def test_semantic_hit_and_the_guard(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock, exact=False, semantic=True, semantic_threshold=0.8, embedder=FakeEmbedder(256))
    await model.chat(request("Is single sign-on supported?"))
    hit = await model.chat(request("is single sign-on supported"))
    assert hit.cached and fake.calls == 1 and model.semantic_hits == 1
    miss = await model.chat(request("Is single sign-on not supported?"))
    assert not miss.cached and fake.calls == 2 and model.guard_refusals >= 1
    await model.chat(request("Can I upload a file of 2 GB?"))
    other_number = await model.chat(request("Can I upload a file of 4 GB?"))
    assert not other_number.cached and fake.calls == 4


async def test_semantic_scope_includes_system_prompt_and_tenant(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock, exact=False, semantic=True, semantic_threshold=0.8, embedder=FakeEmbedder(256))

    def req(system: str, tenant: str = "t") -> ChatRequest:
        return ChatRequest(
            model="rag",
            messages=(Message("system", system), Message("user", "how big is it")),
            context=RequestContext(tenant=tenant),
        )

    await model.chat(req("context: doc A"))
    await model.chat(req("context: doc B"))
    await model.chat(req("context: doc A", tenant="u"))
    assert fake.calls == 3
    assert (await model.chat(req("context: doc A"))).cached


def test_guard_markers() -> None:
    assert negations("Isn't it supported?") == negations("Is it not supported?") == 1
    assert numbers("1,000 users and 2.5 GB, two regions") == [2.0, 2.5, 1000.0]
    assert same_meaning_markers("Max upload is 2 GB?", "max upload is 2GB")
    assert not same_meaning_markers("Is X supported?", "Is X not supported?")
    assert not same_meaning_markers("retention of 30 days", "retention of 90 days")


async def test_semantic_needs_an_embedder(clock: ManualClock) -> None:
    with pytest.raises(ConfigError):
        cache(counting(), clock, semantic=True)


async def test_streams_replay_hits_and_store_only_complete_streams(clock: ManualClock) -> None:
    fake = FakeChatModel(
        [Reply("cut short here", cut_after=1), "the full answer", "unused"], name="fake:m", prices=PRICES
    )
    model = cache(fake, clock)
    with pytest.raises(StreamInterrupted):
        await collect(model.stream(request()))
    assert len(model) == 0  # a cut stream is never stored
    full = await collect(model.stream(request()))
    assert full.text == "the full answer" and len(model) == 1
    replay = await collect(model.stream(request()))
    assert replay.text == "the full answer" and replay.cached and fake.calls == 2
    assert (await model.chat(request())).cached  # chat and stream share entries


async def test_semantic_index_is_bounded_with_the_entries(clock: ManualClock) -> None:
    fake = counting()
    model = cache(fake, clock, semantic=True, semantic_threshold=0.8, embedder=FakeEmbedder(256), max_entries=3)
    topics = ["billing", "invoices", "passwords", "exports", "webhooks"]
    for topic in topics:
        await model.chat(request(f"how do {topic} work"))
    assert len(model) == 3
    assert isinstance(model.store, MemoryCacheStore) and model.store.semantic_size() == 3
    assert (await model.chat(request("How do webhooks work?"))).cached  # recent one: a semantic hit
    assert not (await model.chat(request("how do billing work"))).cached  # evicted
    assert fake.calls == 6


async def test_concurrent_identical_misses_reach_the_model_once(clock: ManualClock) -> None:
    import asyncio

    from ragwright.errors import ProviderHTTPError

    fake = FakeChatModel([Reply("slow answer", delay=0.02)], cycle=True, name="fake:m", prices=PRICES)
    model = cache(fake, clock)
    replies = await asyncio.gather(*(model.chat(request()) for _ in range(50)))
    assert fake.calls == 1 and model.coalesced == 49
    assert sum(not r.cached for r in replies) == 1 and all(r.text == "slow answer" for r in replies)
    assert not model._inflight

    # a failing leader does not fail its followers: each tries on its own
    class Flaky(FakeChatModel):
        async def chat(self, request: ChatRequest) -> ChatResponse:
            first = self.calls == 0
            self.requests.append(request)
            await asyncio.sleep(0.02)
            if first:
                raise ProviderHTTPError(503)
            return ChatResponse(model=self.name, message=Message("assistant", "ok"))

    flaky = Flaky(name="fake:m")
    model = cache(flaky, clock)

    async def call() -> str:
        try:
            return (await model.chat(request())).text
        except ProviderHTTPError:
            return "failed"

    results = await asyncio.gather(call(), call(), call())
    assert results == ["failed", "ok", "ok"] and flaky.calls == 3
