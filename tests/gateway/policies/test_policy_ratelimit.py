"""RateLimit: RPM and TPM per key, tenant and model; exact under asyncio.gather of 200 calls."""

from __future__ import annotations

import asyncio

import pytest
from policy_helpers import NO_LIMITS, request

from ragwright.errors import RateLimited
from ragwright.gateway import collect
from ragwright.gateway.policies.ratelimit import RateLimit
from ragwright.testing import FakeChatModel

NONE = {**NO_LIMITS, "storage": "memory://"}


def limited(**kw: object) -> tuple[RateLimit, FakeChatModel]:
    fake = FakeChatModel(["ok"], cycle=True, name="fake:m")
    return RateLimit(fake, **{**NONE, **kw}), fake  # type: ignore[arg-type]


async def test_no_limits_configured_passes_everything() -> None:
    model, fake = limited()
    await asyncio.gather(*(model.chat(request()) for _ in range(50)))
    assert fake.calls == 50 and not model.enabled


async def test_tenant_rpm_holds_exactly_under_200_concurrent_calls() -> None:
    model, fake = limited(per_tenant_rpm=50)
    results = await asyncio.gather(*(model.chat(request(tenant="acme")) for _ in range(200)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert fake.calls == 50 and len(refused) == 150
    assert refused[0].scope == "tenant:acme rpm" and refused[0].retry_after is not None
    assert 0 < refused[0].retry_after <= 120
    # another tenant has its own limit
    assert (await model.chat(request(tenant="other"))).text == "ok"


async def test_key_tpm_holds_under_200_concurrent_calls() -> None:
    model, fake = limited(per_key_tpm=5000)
    req = request("one two three four five six", key="k1", max_tokens=100)
    per_call = model.estimate_tokens(req)
    assert per_call >= 100 + 6
    results = await asyncio.gather(*(model.chat(req) for _ in range(200)), return_exceptions=True)
    assert fake.calls == 5000 // per_call
    assert all(isinstance(r, RateLimited) and r.scope == "key:k1 tpm" for r in results if isinstance(r, Exception))


async def test_refusal_by_one_scope_takes_nothing_from_the_others() -> None:
    model, fake = limited(per_key_rpm=2, per_tenant_rpm=3)
    for _ in range(2):
        await model.chat(request(key="a"))
    with pytest.raises(RateLimited, match="key:a rpm"):
        await model.chat(request(key="a"))
    # the key refusal did not use up the tenant: one more call from another key still fits
    await model.chat(request(key="b"))
    with pytest.raises(RateLimited, match="tenant:default rpm"):
        await model.chat(request(key="c"))
    assert fake.calls == 3


async def test_per_model_limit_and_streams() -> None:
    model, fake = limited(per_model_rpm=1)
    assert (await collect(model.stream(request()))).text == "ok"
    with pytest.raises(RateLimited, match="model:fake:m rpm") as err:
        await collect(model.stream(request()))
    assert err.value.provider == "fake:m"


async def test_a_request_larger_than_the_limit_never_fits() -> None:
    model, _ = limited(per_tenant_tpm=50)
    with pytest.raises(RateLimited) as err:
        await model.chat(request(max_tokens=1000))
    assert err.value.retry_after is None


async def test_shared_counters_hold_across_instances() -> None:
    first, a = limited(per_key_rpm=3)
    b = FakeChatModel(["ok"], cycle=True, name="fake:other")
    second = RateLimit(b, **{**NONE, "per_key_rpm": 3}, share_with=first)  # type: ignore[arg-type]
    results = await asyncio.gather(*(m.chat(request(key="k")) for m in (first, second) * 4), return_exceptions=True)
    assert a.calls + b.calls == 3 and sum(isinstance(r, RateLimited) for r in results) == 5
