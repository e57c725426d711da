"""What the OpenAI adapter adds over a bare httpx call to the same upstream, sequentially, chat and stream.

The upstream is the loopback OpenAI server in a separate process (so it does not share our GIL); both paths use one
pooled httpx client. The bare path posts prebuilt bytes and decodes the JSON (or reads the SSE bytes); the adapter
path builds the payload, parses the reply into ChatResponse / Chunks and prices it.

    python bench/provider_overhead.py --calls 2000 --out bench/results/provider-overhead.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import sys, time
from ragwright.gateway.types import Usage
from ragwright.testing.provider_servers import OpenAIServer, Plan
s = OpenAIServer(default=Plan(text="Paris is the capital of France.", usage=Usage(20, 0, 8, 0)), keep_requests=1)
s.start()
print(s.base_url, flush=True)
sys.stdin.read()
"""


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_ms": round(samples[len(samples) // 2] * 1e3, 3),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e3, 3),
    }


async def _run(base_url: str, calls: int) -> dict[str, dict[str, float]]:
    from ragwright.gateway.base import collect
    from ragwright.gateway.pricing import PriceTable
    from ragwright.gateway.providers.http import make_client
    from ragwright.gateway.providers.openai import OpenAIChatModel
    from ragwright.gateway.types import ChatRequest, Message

    client = make_client()
    model = OpenAIChatModel("gpt-4o-mini", base_url=base_url, api_key="k", client=client, prices=PriceTable.load())
    request = ChatRequest(
        model=model.name, messages=(Message("user", "What is the capital of France?"),), max_tokens=32
    )
    url = base_url + "/chat/completions"
    headers = {"content-type": "application/json", "authorization": "Bearer k"}
    plain = json.dumps(model.payload(request, stream=False)).encode()
    streamed = json.dumps(model.payload(request, stream=True)).encode()

    async def bare_chat() -> None:
        (await client.post(url, content=plain, headers=headers)).json()

    async def bare_stream() -> None:
        async with client.stream("POST", url, content=streamed, headers=headers) as response:
            async for _ in response.aiter_bytes():
                pass

    async def adapter_chat() -> None:
        await model.chat(request)

    async def adapter_stream() -> None:
        await collect(model.stream(request))

    paths = {
        "bare_chat": bare_chat,
        "adapter_chat": adapter_chat,
        "bare_stream": bare_stream,
        "adapter_stream": adapter_stream,
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(50):  # warm the pool and the code paths
        for fn in paths.values():
            await fn()
    for _ in range(calls):  # interleaved, so load changes on the machine hit every path alike
        for name, fn in paths.items():
            started = time.perf_counter()
            await fn()
            samples[name].append(time.perf_counter() - started)
    await client.aclose()
    out = {name: _stats(values) for name, values in samples.items()}
    for kind in ("chat", "stream"):
        out[f"adapter_{kind}"]["added_p50_ms"] = round(
            out[f"adapter_{kind}"]["p50_ms"] - out[f"bare_{kind}"]["p50_ms"], 3
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    upstream = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert upstream.stdout is not None
        base_url = upstream.stdout.readline().strip()
        paths = asyncio.run(_run(base_url, args.calls))
        result = {
            "calls": args.calls,
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "paths": paths,
        }
    finally:
        upstream.kill()
        upstream.wait()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
