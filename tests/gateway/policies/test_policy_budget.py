"""Budget: reserve the worst case, reconcile, release on failure, UTC periods, no overspend under 200 calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from policy_helpers import request

from ragwright.errors import BudgetExceeded, ConfigError, ProviderHTTPError, StreamInterrupted
from ragwright.gateway import collect
from ragwright.gateway.policies.budget import Budget, InMemoryBudgetStore, period_bounds
from ragwright.gateway.policies.fallback import Fallback
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.testing import FakeChatModel, Reply

PRICES = PriceTable({"fake:m": Price(input=1.0, output=2.0), "fake:dear": Price(input=10.0, output=20.0)})
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()


def budget(fake: object, **kw: object) -> Budget:
    opts: dict[str, object] = dict(tenant_usd=None, key_usd=None, period="day", prices=PRICES, clock=lambda: NOON)
    return Budget(fake, **{**opts, **kw})  # type: ignore[arg-type]


def test_period_bounds_are_utc() -> None:
    assert period_bounds(NOON, "day") == ("2026-11-22", datetime(2026, 11, 23, tzinfo=UTC).timestamp())
    assert period_bounds(NOON, "month") == ("2026-11", datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    dec = datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp()
    assert period_bounds(dec, "month") == ("2026-12", datetime(2027, 1, 1, tzinfo=UTC).timestamp())


async def test_reconciles_to_the_real_cost() -> None:
    fake = FakeChatModel(["four"], name="fake:m", prices=PRICES)
    model = budget(fake, tenant_usd=1.0)
    req = request()
    worst = model.worst_case(req)
    reply = await model.chat(req)
    spent = await model.store.spent("tenant:default@2026-11-22")
    assert reply.cost_usd is not None and spent == pytest.approx(reply.cost_usd)
    assert worst is not None and spent < worst


async def test_overspend_is_zero_under_200_concurrent_calls() -> None:
    fake = FakeChatModel([Reply("an answer of several words", delay=0.001)], cycle=True, name="fake:m", prices=PRICES)
    req = request(max_tokens=50)
    model = budget(fake, tenant_usd=0.0)
    worst = model.worst_case(req)
    assert worst is not None
    limit = worst * 37.5  # room for 37 worst cases at once
    model = budget(fake, tenant_usd=limit)
    results = await asyncio.gather(*(model.chat(req) for _ in range(200)), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(ok) + len(refused) == 200 and refused
    spent = await model.store.spent("tenant:default@2026-11-22")
    assert spent <= limit
    assert spent == pytest.approx(sum(r.cost_usd or 0 for r in ok))
    assert len(ok) >= 37  # reservations were released as calls reconciled, never fewer than the worst case allows
    err = refused[0]
    assert err.scope == "tenant:default" and err.needed == pytest.approx(worst)
    assert err.resets_at == datetime(2026, 11, 23, tzinfo=UTC).timestamp() and err.remaining < worst


async def test_failure_releases_the_reservation_and_key_budgets_apply() -> None:
    fake = FakeChatModel([ProviderHTTPError(503), "ok"], name="fake:m", prices=PRICES)
    model = budget(fake, key_usd=1.0)
    with pytest.raises(ProviderHTTPError):
        await model.chat(request(key="k"))
    assert await model.store.spent("key:k@2026-11-22") == 0.0
    await model.chat(request(key="k"))
    with pytest.raises(BudgetExceeded, match="key:k"):
        await budget(fake, key_usd=0.0).chat(request(key="k"))


async def test_worst_case_covers_the_dearest_model_of_a_chain() -> None:
    chain = Fallback([FakeChatModel(name="fake:m"), FakeChatModel(name="fake:dear")])
    req = request(max_tokens=100)
    assert budget(chain, tenant_usd=1).worst_case(req) == pytest.approx(PRICES.worst_case("fake:dear", *_io(req)))


def _io(req: object) -> tuple[int, int]:
    from ragwright.gateway.policies._shared import estimate_input_tokens

    return estimate_input_tokens(req), 100  # type: ignore[arg-type]


async def test_unknown_price_is_refused_or_allowed_by_choice() -> None:
    fake = FakeChatModel(["ok", "ok"], name="openai:unpriced-model")
    with pytest.raises(ConfigError, match="openai:unpriced-model"):
        await budget(fake, tenant_usd=5).chat(request())
    assert fake.calls == 0
    assert (await budget(fake, tenant_usd=5, unknown_price="allow").chat(request())).text == "ok"
    # without any budget configured the price does not matter
    assert (await budget(fake).chat(request())).text == "ok"


async def test_streams_reconcile_release_and_charge_cuts() -> None:
    fake = FakeChatModel(["a b c", ProviderHTTPError(500), Reply("a b c", cut_after=1)], name="fake:m", prices=PRICES)
    model = budget(fake, tenant_usd=10.0)
    account = "tenant:default@2026-11-22"
    reply = await collect(model.stream(request()))
    assert await model.store.spent(account) == pytest.approx(reply.cost_usd or -1)
    with pytest.raises(ProviderHTTPError):
        await collect(model.stream(request()))
    assert await model.store.spent(account) == pytest.approx(reply.cost_usd or -1)
    with pytest.raises(StreamInterrupted):
        await collect(model.stream(request()))
    worst = model.worst_case(request())
    assert await model.store.spent(account) == pytest.approx((reply.cost_usd or 0) + (worst or 0))


async def test_store_drops_past_periods() -> None:
    store = InMemoryBudgetStore()
    assert await store.reserve([("tenant:a@2026-11-21", 1.0)], 0.1) is None
    await store.settle(["tenant:a@2026-11-21"], 0.1, 0.05)
    assert await store.reserve([("tenant:a@2026-11-22", 1.0)], 0.1) is None
    assert len(store) == 1 and await store.spent("tenant:a@2026-11-21") == 0.0


async def test_a_new_utc_day_starts_a_new_budget() -> None:
    now = {"t": NOON}
    fake = FakeChatModel(["ok"], cycle=True, name="fake:m", prices=PRICES)
    req = request()
    probe = budget(fake, tenant_usd=1.0)
    worst = probe.worst_case(req) or 0.0
    model = budget(fake, tenant_usd=worst * 1.5, clock=lambda: now["t"])
    await model.chat(req)
    await model.chat(req)  # the real cost is below the worst case, so a second call fits
    with pytest.raises(BudgetExceeded) as err:
        for _ in range(100):
            await model.chat(req)
    assert err.value.resets_at == datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    now["t"] = err.value.resets_at + 1
    assert (await model.chat(req)).text == "ok"
