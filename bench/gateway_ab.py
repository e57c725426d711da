"""Saturation throughput of `ragwright gateway serve` from two source trees, measured in interleaved runs.

    python bench/gateway_ab.py --a /tmp/before --b . --rounds 5 --seconds 5 --out bench/results/gateway-ab.json

Both proxies (``PYTHONPATH=<tree>/src``, the same venv, the configuration of ``bench/gateway_overhead.py``: every
policy on except the cache, the usage ledger on) run side by side in front of one instant upstream; ``wrk`` then
saturates A, B, A, B, ... (``--connections`` connections, ``--seconds`` each) so that a change in the machine's load
falls on both alike. Reported: each run's req/s and proxy CPU per request, and the median of the B/A ratios of
consecutive pairs with their spread (min, max). With ``--scrape`` a thread scrapes B's ``/metrics`` once a second
during its runs, as Prometheus would. Needs ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_overhead import (  # noqa: E402 - the sibling benchmark's parts, not a package
    PY,
    REQUEST,
    free_port,
    measured,
    ragwright_config,
    start,
    stop,
    wait_ready,
    write_lua,
)

RAGWRIGHT = Path(sys.executable).with_name("ragwright")


def _proxy(tree: Path, cfg: Path, tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env["PYTHONPATH"] = str(tree.resolve() / "src")
    made = subprocess.run(
        [str(RAGWRIGHT), "keys", "create", "--tenant", "bench", "--name", name, "--config", str(cfg), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    port = free_port()
    cmd = [str(RAGWRIGHT), "gateway", "serve", "--config", str(cfg), "--port", str(port), "--require-key"]
    proc = start(cmd, tmp / f"{name}.log", env=env)
    return proc, f"http://127.0.0.1:{port}", str(json.loads(made.stdout)["key"])


def _scraper(url: str, stop_event: threading.Event, count: list[int]) -> None:
    while not stop_event.wait(1.0):
        try:
            with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
                r.read()
            count[0] += 1
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="source tree A (the baseline)")
    parser.add_argument("--b", type=Path, required=True, help="source tree B (the change)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--scrape", action="store_true", help="scrape B's /metrics every second during its runs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rw-gw-ab-"))
    procs: list[subprocess.Popen[bytes]] = []
    runs: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    scrapes = [0]
    load_start = round(os.getloadavg()[0], 2)
    try:
        instant, slow = free_port(), free_port()
        upstream = Path(__file__).with_name("gateway_overhead.py")
        for port in (instant, slow):
            procs.append(start([PY, str(upstream), "upstream", "--port", str(port)], tmp / f"up{port}.log"))
        body = json.dumps({"model": "instant", **REQUEST})
        wait_ready(f"http://127.0.0.1:{instant}/v1/chat/completions", body.encode())
        proxies = {}
        for name, tree in (("a", args.a), ("b", args.b)):
            (tmp / name).mkdir()
            cfg = ragwright_config(tmp / name, instant, slow)
            proc, url, key = _proxy(tree, cfg, tmp, name)
            procs.append(proc)
            wait_ready(f"{url}/v1/chat/completions", body.encode(), 120, key)
            proxies[name] = (proc, url, write_lua(tmp / f"{name}.lua", body, key))
        for proc, url, lua in proxies.values():  # warm-up
            measured(proc.pid, f"{url}/v1/chat/completions", lua, args.connections, 2)
        for i in range(args.rounds):
            for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
                proc, url, lua = proxies[name]
                stop_event = threading.Event()
                scraper = None
                if args.scrape and name == "b":
                    scraper = threading.Thread(target=_scraper, args=(url, stop_event, scrapes), daemon=True)
                    scraper.start()
                result = measured(proc.pid, f"{url}/v1/chat/completions", lua, args.connections, args.seconds)
                stop_event.set()
                if scraper is not None:
                    scraper.join()
                runs[name].append(result)
                print(f"round {i} {name}: {result.get('rps')} req/s, {result.get('errors')} errors", file=sys.stderr)
    finally:
        for proc in reversed(procs):
            stop(proc)
    ratios = [b["rps"] / a["rps"] for a, b in zip(runs["a"], runs["b"], strict=True) if a.get("rps")]
    doc = {
        "benchmark": "gateway_ab",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "a": str(args.a),
        "b": str(args.b),
        "rounds": args.rounds,
        "seconds": args.seconds,
        "connections": args.connections,
        "scrape_b": args.scrape,
        "scrapes": scrapes[0],
        "loadavg_1m": [load_start, round(os.getloadavg()[0], 2)],
        "rps": {k: [r.get("rps") for r in v] for k, v in runs.items()},
        "errors": {k: [r.get("errors") for r in v] for k, v in runs.items()},
        "cpu_us_per_request": {k: [r.get("proxy_cpu_us_per_request") for r in v] for k, v in runs.items()},
        "ratio_b_over_a": {
            "median": round(statistics.median(ratios), 4) if ratios else None,
            "min": round(min(ratios), 4) if ratios else None,
            "max": round(max(ratios), 4) if ratios else None,
            "each": [round(r, 4) for r in ratios],
        },
    }
    text = json.dumps(doc, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
