"""In-process cost of each gateway policy: the policy stack built up one layer at a time over an instant provider.

    python bench/gateway_policies.py --calls 20000 --out bench/results/gateway-policies.json

No network and no HTTP: this measures only the policies' own CPU time per call (chat and stream), the part of the
proxy's added latency that ragwright's code decides. Each row adds one layer to the row above it, in the order the
gateway uses: Timeout, CircuitBreaker, Retry, Fallback (over two such leaves), RateLimit (key rpm, tenant rpm and
tpm), Budget (tenant and key), Cache (exact; every request distinct, so every call is a miss and a store), Router.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ragwright.config import GatewaySettings
from ragwright.gateway import ChatModel, ChatRequest, ChatResponse, Chunk, Message, RequestContext, Usage, collect
from ragwright.gateway.policies.breaker import CircuitBreaker
from ragwright.gateway.policies.budget import Budget
from ragwright.gateway.policies.cache import Cache
from ragwright.gateway.policies.fallback import Fallback
from ragwright.gateway.policies.ratelimit import RateLimit
from ragwright.gateway.policies.retry import Retry
from ragwright.gateway.policies.router import Router
from ragwright.gateway.policies.timeout import Timeout
from ragwright.gateway.pricing import Price, PriceTable

PRICES = PriceTable({"bench:a": Price(0.15, 0.6), "bench:b": Price(0.3, 1.2)})


class Instant:
    """A provider that answers at once (after yielding to the loop once, as real I/O would)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def chat(self, request: ChatRequest) -> ChatResponse:
        await asyncio.sleep(0)
        return ChatResponse(
            model=self.name, message=Message("assistant", "ok"), usage=Usage(12, 0, 2, 0), cost_usd=0.000003
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        await asyncio.sleep(0)
        yield Chunk(delta="ok", model=self.name)
        yield Chunk(finish_reason="stop", usage=Usage(12, 0, 2, 0), cost_usd=0.000003, model=self.name)


def layers(gw: GatewaySettings) -> list[tuple[str, Callable[[], ChatModel]]]:
    def leaf(name: str, upto: str) -> ChatModel:
        model: ChatModel = Instant(name)
        model = Timeout(model, **gw.timeout.model_dump())
        if upto == "timeout":
            return model
        model = CircuitBreaker(model, **gw.breaker.model_dump())
        if upto == "breaker":
            return model
        return Retry(model, **gw.retry.model_dump())

    def chain() -> ChatModel:
        return Fallback([leaf("bench:a", "retry"), leaf("bench:b", "retry")])

    def limited() -> ChatModel:
        return RateLimit(chain(), **gw.rate_limit.model_dump())

    def budgeted() -> ChatModel:
        return Budget(limited(), **gw.budget.model_dump(), prices=PRICES)

    def cached() -> ChatModel:
        return Cache(budgeted(), **gw.cache.model_dump(), prices=PRICES)

    return [
        ("provider", lambda: Instant("bench:a")),
        ("+timeout", lambda: leaf("bench:a", "timeout")),
        ("+breaker", lambda: leaf("bench:a", "breaker")),
        ("+retry", lambda: leaf("bench:a", "retry")),
        ("+fallback", chain),
        ("+ratelimit", limited),
        ("+budget", budgeted),
        ("+cache", cached),
        ("+router", lambda: Router(cached(), cached(), threshold=gw.router.threshold)),
    ]


async def measure(model: ChatModel, calls: int, stream: bool) -> dict[str, float]:
    requests = [
        ChatRequest(
            model="bench",
            messages=(Message("user", f"what is item {i} made of"),),
            max_tokens=64,
            context=RequestContext(tenant=f"t{i % 10}", key_id=f"k{i % 50}"),
        )
        for i in range(calls)
    ]
    for request in requests[: calls // 10]:  # warm up
        await (collect(model.stream(request)) if stream else model.chat(request))
    latencies: list[float] = []
    for request in requests:
        started = time.perf_counter()
        await (collect(model.stream(request)) if stream else model.chat(request))
        latencies.append((time.perf_counter() - started) * 1e6)
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return {"p50_us": round(p50, 1), "p99_us": round(p99, 1)}


async def run(calls: int) -> dict[str, Any]:
    gw = GatewaySettings()
    gw.rate_limit.per_key_rpm = 10**7
    gw.rate_limit.per_tenant_rpm = 10**7
    gw.rate_limit.per_tenant_tpm = 10**10
    gw.budget.tenant_usd = 10**6
    gw.budget.key_usd = 10**6
    rows: dict[str, Any] = {}
    for label, build in layers(gw):
        rows[label] = {"chat": await measure(build(), calls, False), "stream": await measure(build(), calls, True)}
        print(
            f"{label:12s} chat p50 {rows[label]['chat']['p50_us']:7.1f} us p99 {rows[label]['chat']['p99_us']:8.1f}"
            f" | stream p50 {rows[label]['stream']['p50_us']:7.1f} us p99 {rows[label]['stream']['p99_us']:8.1f}"
        )
    return {"calls": calls, "python": platform.python_version(), "machine": platform.machine(), "layers": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.calls))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
