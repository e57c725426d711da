"""The gateway's client transport, side by side: ragwright's own ``PooledTransport`` (httptools on asyncio), the
``httpx-aiohttp`` transport, and httpx's default (httpcore), each under the same ``LeanAsyncClient`` the proxy uses,
against the same loopback OpenAI-compatible upstream over HTTP and over HTTPS (a ``trustme`` certificate).

    python bench/gateway_overhead.py --out bench/results/gateway-transports.json transports

What is measured is what the proxy's provider calls cost on the client side at saturation: ``--concurrency`` tasks
post the same chat completion in a closed loop for ``--seconds``, in one process on uvloop; the upstream (the raw
asyncio server of bench/gateway_overhead.py) runs in its own process. Reported per transport and scheme: requests per
second and client CPU per request (``time.process_time``, the figure least moved by other load on the machine).
Rounds alternate the order of the transports so a drift in machine load spreads over all of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

TRANSPORTS = ("pooled", "aiohttp", "httpx")


def make_transport(name: str, ctx: ssl.SSLContext) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=64, keepalive_expiry=30.0)
    if name == "pooled":
        from ragwright.gateway.transport import PooledTransport

        return PooledTransport(ssl_context=ctx, max_keepalive=64, max_connections=512)
    if name == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport(verify=ctx, limits=limits, trust_env=False)
    return httpx.AsyncHTTPTransport(verify=ctx, limits=limits, trust_env=False)


async def saturate(
    url: str, transport: httpx.AsyncBaseTransport, body: bytes, concurrency: int, seconds: float
) -> dict[str, Any]:
    from ragwright.gateway.lean_client import LeanAsyncClient

    client = LeanAsyncClient(transport=transport, timeout=httpx.Timeout(10.0))
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench-not-a-secret"}
    done = errors = 0
    stop_at = 0.0

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < stop_at:
            try:
                response = await client.send(
                    client.build_request("POST", url, content=body, headers=headers), stream=True
                )
                await response.aread()
                await response.aclose()
                if response.status_code == 200:
                    done += 1
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1

    try:
        stop_at = time.perf_counter() + 1.0  # warm up: connections opened, TLS handshakes done
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        done = errors = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await client.aclose()
    return {
        "requests": done,
        "errors": errors,
        "req_per_s": round(done / wall, 1),
        "client_cpu_us_per_request": round(cpu / max(done, 1) * 1e6, 1),
    }


def _certificates(tmp: Path) -> tuple[Path, Path, Path]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key, ca_file = tmp / "chain.pem", tmp / "key.pem", tmp / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return chain, key, ca_file


def run(args: Any, free_port: Callable[[], int], body: dict[str, Any], py: str, script: Path) -> dict[str, Any]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    payload = json.dumps({**body, "model": "bench"}).encode()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {"http": {}, "https": {}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        chain, key, ca_file = _certificates(tmp)
        ports = {"http": free_port(), "https": free_port()}
        procs = [
            subprocess.Popen([py, str(script), "upstream", "--port", str(ports["http"])]),
            subprocess.Popen(
                [
                    py,
                    str(script),
                    "upstream",
                    "--port",
                    str(ports["https"]),
                    "--tls-cert",
                    str(chain),
                    "--tls-key",
                    str(key),
                ]
            ),
        ]
        try:
            time.sleep(1.5)
            ctx = ssl.create_default_context(cafile=str(ca_file))
            for round_no in range(args.rounds):
                order = TRANSPORTS[round_no % 3 :] + TRANSPORTS[: round_no % 3]
                for scheme in ("http", "https"):
                    url = f"{scheme}://127.0.0.1:{ports[scheme]}/v1/chat/completions"
                    for name in order:
                        got = asyncio.run(
                            saturate(url, make_transport(name, ctx), payload, args.concurrency, args.seconds)
                        )
                        results[scheme].setdefault(name, []).append(got)
                        print(f"round {round_no + 1} {scheme:5} {name:8} {got}", file=sys.stderr, flush=True)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    summary: dict[str, Any] = {}
    for scheme, by_name in results.items():
        best = {name: max(r["req_per_s"] for r in runs) for name, runs in by_name.items()}
        cpu = {name: min(r["client_cpu_us_per_request"] for r in runs) for name, runs in by_name.items()}
        summary[scheme] = {
            "best_req_per_s": best,
            "min_client_cpu_us_per_request": cpu,
            "pooled_vs_aiohttp_throughput": round(best["pooled"] / best["aiohttp"], 2),
            "pooled_vs_aiohttp_cpu": round(cpu["aiohttp"] / cpu["pooled"], 2),
        }
    return {
        "command": " ".join(["python", "bench/gateway_overhead.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_end": os.getloadavg()},
        "settings": {"concurrency": args.concurrency, "seconds": args.seconds, "rounds": args.rounds},
        "summary": summary,
        "runs": results,
    }
