"""What the HTTP layer adds to a search: the same queries through the library and through `POST /v1/search`.

    python bench/http_overhead.py --docs 300 --requests 500 --out bench/results/http-overhead.json

Builds a small index with the fake embedder (so embedding costs nothing and the difference is the service's own
work: HTTP parsing, key verification, rate limit, thread hop, metrics, JSON), starts the service on 127.0.0.1 under
uvicorn in a thread, and times sequential requests from an httpx client in the same process. Also times
``GET /healthz`` (no key) and an authenticated 404 (key check and rate limit only). Latencies are per request, in ms.
This is a sequential, single-connection figure; the load benchmark (bench/serve_load.py) measures throughput.

CPU: the client runs on the main thread and the server on others, so the server's CPU per request is the process's
CPU minus the main thread's over the run (``*_server_cpu_ms``); the library's is the main thread's CPU per search.
``http_added_cpu_ms`` is the difference for ``POST /v1/search``: the service's own CPU per search.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app

WORDS = "kettle warranty boiler pump valve descale filter pressure sensor firmware reset display battery".split()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def _time(fn: Callable[[int], Any], n: int, cpu: dict[str, float] | None = None) -> list[float]:
    """Wall ms of each call; ``cpu`` gets the main thread's and the other threads' CPU ms per call."""
    out = []
    proc, main = time.process_time(), time.thread_time()
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    if cpu is not None:
        main_ms = (time.thread_time() - main) * 1000 / n
        cpu["main_ms"] = round(main_ms, 3)
        cpu["server_ms"] = round((time.process_time() - proc) * 1000 / n - main_ms, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = args.out.resolve() if args.out else None

    root = Path(tempfile.mkdtemp(prefix="ragwright-http-overhead-"))
    os.chdir(root)
    settings = load_settings(
        data_dir=root / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": 10_000_000},
        gateway={"ledger": False},
    )
    docs = root / "docs"
    docs.mkdir()
    for i in range(args.docs):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(12))
        (docs / f"d{i}.md").write_text(f"# Document {i}\n\nThe {words} note number {i}.\n", encoding="utf-8")
    writer = Ragwright(settings)
    writer.ingest([docs], tenant="bench")
    queries = [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(3)) + f" {i}" for i in range(args.requests)]

    lib = Ragwright(settings)
    for q in queries[:20]:
        lib.search(q, tenant="bench")
    lib_cpu: dict[str, float] = {}
    library = _time(lambda i: lib.search(queries[i], tenant="bench"), args.requests, lib_cpu)
    lib.close()
    writer.close()

    app = create_app(settings)
    raw, _ = app.state.service.keys.create("bench")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {raw}"}) as c:
            for q in queries[:20]:
                c.post("/v1/search", json={"query": q})
            search_cpu: dict[str, float] = {}
            health_cpu: dict[str, float] = {}
            auth_cpu: dict[str, float] = {}
            http = _time(
                lambda i: c.post("/v1/search", json={"query": queries[i]}).raise_for_status(), args.requests, search_cpu
            )
            health = _time(lambda i: c.get("/healthz").raise_for_status(), args.requests, health_cpu)
            auth = _time(lambda i: c.get("/v1/jobs/job_none"), args.requests, auth_cpu)

    finally:
        server.should_exit = True
        thread.join(10)

    result = {
        "docs": args.docs,
        "requests": args.requests,
        "embedder": "fake",
        "library_search": _stats(library),
        "http_search": _stats(http),
        "http_healthz": _stats(health),
        "http_auth_404": _stats(auth),
        "http_added_p50_ms": round(statistics.median(http) - statistics.median(library), 3),
        "library_search_cpu_ms": lib_cpu["main_ms"],
        "http_search_server_cpu_ms": search_cpu["server_ms"],
        "http_healthz_server_cpu_ms": health_cpu["server_ms"],
        "http_auth_404_server_cpu_ms": auth_cpu["server_ms"],
        "http_added_cpu_ms": round(search_cpu["server_ms"] - lib_cpu["main_ms"], 3),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
