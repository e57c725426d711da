"""CPU per request of the proxy's own code, in process: `gateway serve`'s ASGI app driven directly (no sockets, no
uvicorn, no upstream: the scripted ``fake:echo`` provider), every policy on as in ``bench/gateway_overhead.py``
(timeout, retry, breaker, rate limits, USD budget, usage ledger; cache off).

    python bench/proxy_hotpath.py --a /tmp/before --b . --rounds 5 --requests 20000

Each round runs A then B (B then A on odd rounds) in fresh subprocesses with ``PYTHONPATH=<tree>/src`` and reports
the process CPU time per request; the ratio B/A of each round, its median and spread. Less sensitive to the machine's
load than a saturation run (it measures CPU time, not throughput), but not immune: caches and frequency still vary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BODY = json.dumps(
    {"model": "default", "max_tokens": 32, "messages": [{"role": "user", "content": "What is the capital of France?"}]}
).encode()


async def _drive(requests: int) -> float:
    from ragwright.config import load_settings
    from ragwright.gateway.proxy import build_proxy, cached_authenticator

    tmp = Path(tempfile.mkdtemp(prefix="rw-hotpath-"))
    (tmp / "prices.toml").write_text('["fake:echo"]\ninput = 0.15\noutput = 0.6\n', encoding="utf-8")
    big = 10**12
    settings = load_settings(
        data_dir=tmp / "data",
        gateway={
            "chain": ["fake:echo"],
            "prices_file": str(tmp / "prices.toml"),
            "cache": {"exact": False},
            "rate_limit": {f"per_{s}_{u}": big for s in ("key", "tenant", "model") for u in ("rpm", "tpm")},
            "budget": {"tenant_usd": 1e9, "key_usd": 1e9},
        },
    )
    app = build_proxy(settings, authenticate=cached_authenticator(lambda raw: ("bench", "k1")))
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", b"Bearer sk-bench"), (b"content-type", b"application/json")],
    }
    message = {"type": "http.request", "body": BODY, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    statuses: list[int] = []

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            statuses.append(msg["status"])

    for _ in range(500):  # warm-up
        await app(scope, receive, send)
    statuses.clear()
    start = time.process_time()
    for _ in range(requests):
        await app(scope, receive, send)
    spent = time.process_time() - start
    assert statuses == [200] * requests, set(statuses)
    await app.aclose()
    return spent / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path)
    parser.add_argument("--b", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--one", action="store_true", help="(internal) measure this process's tree once")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.one:
        print(json.dumps({"cpu_us_per_request": asyncio.run(_drive(args.requests))}))
        return
    runs: dict[str, list[float]] = {"a": [], "b": []}
    load = [round(os.getloadavg()[0], 2)]
    for i in range(args.rounds):
        for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
            tree = args.a if name == "a" else args.b
            env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
            env["PYTHONPATH"] = str(tree.resolve() / "src")
            cmd = [sys.executable, __file__, "--one", "--requests", str(args.requests)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            runs[name].append(round(json.loads(out.strip().splitlines()[-1])["cpu_us_per_request"], 1))
            print(f"round {i} {name}: {runs[name][-1]} us/request", file=sys.stderr)
    load.append(round(os.getloadavg()[0], 2))
    ratios = [b / a for a, b in zip(runs["a"], runs["b"], strict=True)]
    doc = {
        "benchmark": "proxy_hotpath",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "a": str(args.a),
        "b": str(args.b),
        "requests": args.requests,
        "loadavg_1m": load,
        "cpu_us_per_request": runs,
        "ratio_b_over_a": {
            "median": round(statistics.median(ratios), 4),
            "min": round(min(ratios), 4),
            "max": round(max(ratios), 4),
        },
    }
    text = json.dumps(doc, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
