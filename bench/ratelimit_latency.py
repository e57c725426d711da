"""What a rate limit adds to each request: the in-process moving window against the same limit in Redis.

Two limiters, each measured with both storages, in interleaved rounds (memory, redis, memory, redis, ...) so that a
change in the machine's load hits both alike:

- ``service``: the per-key limit every HTTP/MCP request passes (:class:`ragwright.service.ratelimit.RateLimiter`,
  one limit: ``memory://`` vs ``redis``, one Lua script per request);
- ``gateway``: the gateway's RateLimit policy with three limits per call (key rpm, tenant rpm, tenant tpm;
  ``memory://`` through the ``limits`` library vs ``redis``, all three in one Lua script);
- ``ping``: a Redis ``PING`` per request through the same client, the floor of any round trip on this machine.

Load: ``--concurrency`` requests in flight at once on one event loop (as a busy replica has), spread over
``--keys`` keys so that no request is refused. Latency is timed per request around the limiter call alone, so it
includes waiting for the event loop and for a pooled Redis connection; CPU per request is recorded beside it for
this process (``client_cpu_us``) and for the redis-server (``server_cpu_us``, from ``INFO cpu``), which a loaded
machine inflates far less than latency. The Redis is a real ``redis-server`` on
loopback, started here (Debian's; ``apt-get install redis-server``), no persistence. Run it niced on a shared machine
and read the load averages it records before and after:

    nice -n 5 python bench/ratelimit_latency.py --out bench/results/ratelimit-latency.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ragwright.gateway import ChatRequest, Message, RequestContext  # noqa: E402
from ragwright.gateway.policies.ratelimit import RateLimit  # noqa: E402
from ragwright.service.ratelimit import RateLimiter  # noqa: E402
from ragwright.sharedstate.client import SharedRedis  # noqa: E402
from ragwright.testing import FakeChatModel  # noqa: E402
from ragwright.testing.redis_server import RedisServer  # noqa: E402


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _drive(call: Callable[[int], Awaitable[object]], n: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - start) * 1e6)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "client_cpu_us": round(cpu / n * 1e6, 1),
        "p50_us": round(_pct(latencies, 0.50), 1),
        "p95_us": round(_pct(latencies, 0.95), 1),
        "p99_us": round(_pct(latencies, 0.99), 1),
        "mean_us": round(statistics.fmean(latencies), 1),
        "rps": round(n / wall),
    }


async def _service(storage: str, redis: SharedRedis | None, args: argparse.Namespace) -> dict[str, float]:
    limiter = RateLimiter(1_000_000, storage, redis=redis, namespace="bench-" + uuid.uuid4().hex[:6])
    keys = [f"k{i}" for i in range(args.keys)]

    async def call(i: int) -> None:
        assert await limiter.retry_after(keys[i % len(keys)]) is None

    return await _drive(call, args.n, args.concurrency)


async def _gateway(storage: str, redis: SharedRedis | None, args: argparse.Namespace) -> dict[str, float]:
    model = RateLimit(
        FakeChatModel(["ok"], cycle=True, name="fake:m"),
        per_key_rpm=1_000_000,
        per_tenant_rpm=1_000_000,
        per_tenant_tpm=10**12,
        storage=storage,
        redis=redis,
    )
    run = uuid.uuid4().hex[:6]
    requests = [
        ChatRequest(
            model="m",
            messages=(Message("user", "how do I rotate the API key"),),
            max_tokens=64,
            context=RequestContext(tenant=f"t{run}{i % 10}", key_id=f"k{run}{i}"),
        )
        for i in range(args.keys)
    ]

    async def call(i: int) -> None:
        await model.acquire(requests[i % len(requests)])

    return await _drive(call, args.n, args.concurrency)


async def _ping(storage: str, redis: SharedRedis | None, args: argparse.Namespace) -> dict[str, float]:
    """The floor of any Redis round trip from this client: one PING per request."""
    assert redis is not None

    async def call(i: int) -> None:
        await redis.client().ping()

    return await _drive(call, args.n, args.concurrency)


async def _server_cpu(redis: SharedRedis) -> float:
    """Seconds of CPU the redis-server has used."""
    info = await redis.client().info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with RedisServer() as server:
        redis = SharedRedis(server.url, prefix="bench", timeout=5.0)
        kinds = {"service": _service, "gateway": _gateway}
        for bench in kinds.values():  # warm-up: scripts loaded, pools filled, code paths compiled
            await bench("redis", redis, argparse.Namespace(**{**vars(args), "n": 500}))
            await bench("memory://", None, argparse.Namespace(**{**vars(args), "n": 500}))
        for round_ in range(args.rounds):
            for kind, bench in {**kinds, "ping": _ping}.items():
                order = ("memory://", "redis") if round_ % 2 == 0 else ("redis", "memory://")
                for storage in ("redis",) if kind == "ping" else order:
                    before = await _server_cpu(redis)
                    figures = await bench(storage, redis if storage == "redis" else None, args)
                    figures["server_cpu_us"] = round((await _server_cpu(redis) - before) / args.n * 1e6, 1)
                    runs.append({"kind": kind, "storage": storage, "round": round_, **figures, "load": _load()})
                    print(json.dumps(runs[-1]), flush=True)
        await redis.aclose()
    summary: dict[str, dict[str, float]] = {}
    measured = [(k, s) for k in ("service", "gateway") for s in ("memory://", "redis")] + [("ping", "redis")]
    for kind, storage in measured:
        mine = [r for r in runs if r["kind"] == kind and r["storage"] == storage]
        summary[f"{kind} {storage}"] = {
            field: statistics.median(r[field] for r in mine)
            for field in ("p50_us", "p95_us", "p99_us", "rps", "client_cpu_us", "server_cpu_us")
        }
    for kind in ("service", "gateway"):
        memory, shared = summary[f"{kind} memory://"], summary[f"{kind} redis"]
        summary[f"{kind} added by redis"] = {
            field: round(shared[field] - memory[field], 1)
            for field in ("p50_us", "p99_us", "client_cpu_us", "server_cpu_us")
        }
    return {"summary": summary, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="requests per run")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at once")
    parser.add_argument("--keys", type=int, default=500, help="distinct keys the requests spread over")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per storage")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    load_before = _load()
    started = time.time()
    result = asyncio.run(main_async(args))
    report = {
        "command": "nice -n 5 python bench/ratelimit_latency.py " + " ".join(sys.argv[1:]),
        "config": {k: str(v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "nice": os.nice(0)},
        "load_before": load_before,
        "load_after": _load(),
        "seconds": round(time.time() - started, 1),
        **result,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()
