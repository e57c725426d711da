"""Load test of `ragwright serve`: POST /v1/search at fixed concurrency on loopback, from a separate process.

1. Builds (or reuses, ``--index DIR``) a 5,000-document index with the local MiniLM embedder: SciFact abstracts from
   ``../shared/datasets/scifact`` (read, never copied into the repo), or short synthetic documents (``--synthetic``).
2. Creates a read-only API key with :class:`ragwright.service.keys.KeyStore` in the index directory.
3. Starts ``ragwright serve`` on 127.0.0.1 in its own process (per-key rate limit raised out of the way: this measures
   the search path, not the limiter's 429s).
4. Drives ``POST /v1/search`` from another process: ``wrk`` (C, closed loop, ``--concurrency`` connections) with a
   Lua script cycling through real queries, or ``--generator python`` (asyncio + httpx) when wrk is not installed.
5. Writes ``{"rps", "p50_ms", "p99_ms", "errors", ...config}`` to ``--out``.

    python bench/serve_load.py --index /tmp/serve-load --out bench/results/serve-load.json
    python bench/serve_load.py --index /tmp/serve-load --mode bm25 --out /tmp/bm25.json   # labelled variant

``--query-pool N`` cycles through only N distinct queries; with N <= 256 they all fit the embedder's query LRU cache
after the first pass, so that figure measures cached-embedding serving and must be labelled as such.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SCIFACT = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
TENANT = "bench"
WORDS = (
    "kettle warranty descale citric acid filter pump valve boiler pressure sensor firmware update reset "
    "display battery charger cable adapter invoice refund shipping order return policy label manual safety "
    "temperature thermostat heating element gasket seal lid handle spout base plate fuse switch timer"
).split()


# -- index -----------------------------------------------------------------------------------------------------------


def _documents(n: int, synthetic: bool) -> list[Any]:
    from ragwright.documents.beir import iter_beir_corpus
    from ragwright.documents.model import Document, Section, sha256_bytes

    if not synthetic:
        docs = []
        for doc in iter_beir_corpus(SCIFACT / "corpus.jsonl"):
            docs.append(doc)
            if len(docs) == n:
                return docs
        raise SystemExit(f"SciFact has only {len(docs)} documents; use --docs {len(docs)} or --synthetic")
    rng = random.Random(7)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))) + "."
        out.append(
            Document(
                doc_id=f"syn/{i:05d}.txt",
                source=f"synthetic#{i}",
                file_type="txt",
                title=f"Note {i}",
                text=text,
                sections=[Section(0, len(text))],
                content_hash=sha256_bytes(text.encode()),
            )
        )
    return out


def build_index(data_dir: Path, n: int, synthetic: bool, embedder: str = "minilm") -> dict[str, Any]:
    """Ingest ``n`` documents for tenant ``bench`` unless the index already holds them; report what happened."""
    from ragwright.app import Ragwright
    from ragwright.config import load_settings
    from ragwright.ingest.pipeline import Ingestor

    rw = Ragwright(load_settings(data_dir=data_dir, embedding={"model": embedder}))
    try:
        have = rw.store.stats(TENANT).documents
        if have >= n:
            return {"docs": have, "reused_index": True, "embedder": rw.store.embedding_model}
        started = time.perf_counter()
        report = Ingestor(rw.store, rw.embedder, rw.settings).ingest_documents(
            _documents(n, synthetic), tenant=TENANT, total=n
        )
        stats = rw.store.stats(TENANT)
        return {
            "docs": stats.documents,
            "chunks": stats.chunks,
            "reused_index": False,
            "ingest_seconds": round(time.perf_counter() - started, 1),
            "failed": report.count("failed"),
            "embedder": rw.store.embedding_model,
        }
    finally:
        rw.close()


def queries(pool: int, synthetic: bool) -> list[str]:
    if synthetic or not (SCIFACT / "queries.jsonl").exists():
        rng = random.Random(11)
        out = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(pool or 500)]
    else:
        with (SCIFACT / "queries.jsonl").open(encoding="utf-8") as f:
            out = [json.loads(line)["text"] for line in f if line.strip()]
    return out[:pool] if pool else out


def api_key(data_dir: Path) -> str:
    from ragwright.service.keys import KeyStore

    with KeyStore(data_dir / "keys.sqlite") as store:
        raw, _ = store.create(TENANT, scopes=("read",), name="serve-load")
    return raw


# -- server ----------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path,
    port: int,
    mode: str,
    log: Path,
    embedder: str = "minilm",
    embed_threads: int | None = None,
    workers: int = 1,
    access_log: bool = True,
    tracing: str = "off",
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAGWRIGHT_") or k in ("RAGWRIGHT_EMBEDDING__QUERY_PRECISION", "RAGWRIGHT_CACHE_DIR")
    }
    env.update(
        {
            "RAGWRIGHT_RETRIEVAL__MODE": mode,
            "RAGWRIGHT_SERVICE__RATE_LIMIT_RPM": "100000000",
            "RAGWRIGHT_EMBEDDING__MODEL": embedder,
            "RAGWRIGHT_OBSERVABILITY__TRACING": tracing,
        }
    )
    if embed_threads:
        env["RAGWRIGHT_EMBEDDING__THREADS"] = str(embed_threads)
    env.update(extra_env or {})  # e.g. RAGWRIGHT_STORE (bench/replicas_load.py)
    with log.open("wb") as out:
        cmd = [
            sys.executable,
            "-m",
            "ragwright",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
        ]
        if not access_log:
            cmd.append("--no-access-log")
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, cwd=data_dir.parent)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ragwright serve exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.terminate()
    raise SystemExit(f"ragwright serve did not answer /healthz within 120 s; see {log}")


def warm_up(url: str, key: str, qs: list[str], n: int, k: int = 10) -> dict[str, float]:
    """``n`` sequential requests (distinct queries from the end of the pool, so the load run starts cold); returns
    the mean per-stage server timings (``timings_ms`` of each response) and the mean client-side latency."""
    stages: dict[str, float] = {}
    wall = 0.0
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(n):
            t0 = time.perf_counter()
            r = client.post(url, json={"query": qs[-1 - i % len(qs)], "k": k})
            wall += time.perf_counter() - t0
            if r.status_code != 200:
                raise SystemExit(f"warm-up request failed: HTTP {r.status_code}: {r.text[:300]}")
            for stage, ms in r.json().get("timings_ms", {}).items():
                stages[stage] = stages.get(stage, 0.0) + ms
    out = {stage: round(total / max(n, 1), 2) for stage, total in stages.items()}
    out["client_ms"] = round(1000 * wall / max(n, 1), 2)
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its live descendants (``serve --workers N`` forks workers), from
    /proc, or None where /proc is missing."""

    def stat(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int(stat(int(entry.name))[1])
                except (OSError, IndexError, ValueError):
                    continue
        tree, frontier = {pid}, [pid]
        while frontier:
            parent = frontier.pop()
            children = [p for p, pp in parents.items() if pp == parent and p not in tree]
            tree.update(children)
            frontier.extend(children)
        total = 0
        for p in tree:
            fields = stat(p)
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


# -- load generators (each runs in its own process) ------------------------------------------------------------------

_LUA = """
local bodies = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "mean_us": %%.1f, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d}\\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(
    url: str, key: str, qs: list[str], k: int, seconds: int, concurrency: int, threads: int, tmp: Path
) -> dict[str, Any]:
    bodies = ",\n".join("[==[" + json.dumps({"query": q, "k": k}) + "]==]" for q in qs)
    script = tmp / "search.lua"
    script.write_text(_LUA % (bodies, key), encoding="utf-8")
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(concurrency),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("RESULT ") :])
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "errors": errors,
        "error_kinds": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]},
    }


async def _python_load(url: str, key: str, qs: list[str], k: int, seconds: float, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=10, limits=limits) as client:
        started = time.perf_counter()
        stop = started + seconds

        async def worker(w: int) -> None:
            nonlocal errors
            i = w
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, json={"query": qs[i % len(qs)], "k": k})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok
                i += concurrency

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": pct(100),
        "mean_ms": 1000 * sum(latencies) / max(1, len(latencies)),
        "errors": errors,
    }


def run_python(url: str, key: str, qs: list[str], k: int, seconds: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    """Run the asyncio generator in a child process (so it does not share an interpreter with anything else)."""
    spec = tmp / "load.json"
    spec.write_text(
        json.dumps({"url": url, "key": key, "queries": qs, "k": k, "seconds": seconds, "concurrency": concurrency}),
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, __file__, "--_generate", str(spec)], capture_output=True, text=True, timeout=seconds + 120
    )
    if out.returncode != 0:
        raise SystemExit(f"load generator failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# -- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--index", type=Path, help="Index directory to build once and reuse (default: a temp dir).")
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--synthetic", action="store_true", help="Short synthetic documents instead of SciFact.")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads.")
    ap.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--query-pool", type=int, default=0, help="Distinct queries to cycle through (0: all).")
    ap.add_argument("--warmup", type=int, default=50, help="Sequential requests before measuring.")
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument(
        "--embed-threads",
        type=int,
        help="Server's onnxruntime intra-op threads (default: all cores with 1 worker, else 1).",
    )
    ap.add_argument("--workers", type=int, default=1, help="`ragwright serve --workers N` (processes).")
    ap.add_argument("--no-access-log", action="store_true", help="Serve with --no-access-log.")
    ap.add_argument("--embedder", default="minilm", help="Embedder spec ('fake' only for smoke tests).")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--tracing", choices=("off", "local", "otlp"), default="off", help="[observability] tracing")
    ap.add_argument(
        "--compare-tracing",
        default="",
        help="e.g. off,local: interleaved rounds of each mode (--rounds), the median throughput ratio to 'off'",
    )
    ap.add_argument("--rounds", type=int, default=5, help="With --compare-tracing: rounds of every mode.")
    args = ap.parse_args()
    if args.compare_tracing:
        compare_tracing(args)
        return

    tmp_root = Path(tempfile.mkdtemp(prefix="ragwright-serve-load-"))
    data_dir = (args.index or tmp_root / "index").resolve()
    try:
        index = build_index(data_dir, args.docs, args.synthetic, args.embedder)
        print(f"index: {index}", file=sys.stderr)
        if args.build_only:
            return
        qs = queries(args.query_pool, args.synthetic)
        key = api_key(data_dir)
        port = free_port()
        log = tmp_root / "serve.log"
        embed_threads = args.embed_threads or (1 if args.workers > 1 else None)
        server = start_server(
            data_dir,
            port,
            args.mode,
            log,
            args.embedder,
            embed_threads,
            args.workers,
            not args.no_access_log,
            args.tracing,
        )
        url = f"http://127.0.0.1:{port}/v1/search"
        try:
            sequential = warm_up(url, key, qs, args.warmup, args.k)
            load_before = loadavg()
            cpu_before = cpu_seconds(server.pid)
            generator = args.generator
            if generator == "auto":
                generator = "wrk" if shutil.which("wrk") else "python"
            print(
                f"load: {generator}, {args.concurrency} connections, {args.seconds}s, {len(qs)} queries",
                file=sys.stderr,
            )
            if generator == "wrk":
                load = run_wrk(url, key, qs, args.k, args.seconds, args.concurrency, args.threads, tmp_root)
            else:
                load = run_python(url, key, qs, args.k, args.seconds, args.concurrency, tmp_root)
            load_after = loadavg()
            cpu_after = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    server_cpu: dict[str, Any] = {}
    if cpu_before is not None and cpu_after is not None and load["requests"]:
        per_request = 1000 * (cpu_after - cpu_before) / load["requests"]
        server_cpu = {
            "cpu_seconds": round(cpu_after - cpu_before, 1),
            "cpu_ms_per_request": round(per_request, 2),
            "rps_if_server_had_all_cpus": round(1000 * (os.cpu_count() or 1) / per_request, 1),
            "note": "CPU time of the server process and its workers (all threads) during the load, divided "
            "by requests served; the last figure is a derived ceiling (with one worker the store "
            "lock serialises queries), not a measurement",
        }
    result = {
        "rps": round(load["requests"] / load["seconds"], 1),
        "p50_ms": round(load["p50_ms"], 2),
        "p99_ms": round(load["p99_ms"], 2),
        "errors": load["errors"],
        "detail": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in load.items()},
        "target": {"rps": 200, "p99_ms": 100, "errors": 0},
        "sequential_warmup_ms": sequential,
        "server_cpu": server_cpu,
        "machine_load": {
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "note": "1-minute load average of the shared 2-core machine around the run",
        },
        "config": {
            "endpoint": "POST /v1/search",
            "mode": args.mode,
            "k": args.k,
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "generator": generator,
            "embedder": args.embedder,
            "embed_threads": embed_threads or "default (all cores)",
            "workers": args.workers,
            "access_log": not args.no_access_log,
            "query_precision": os.environ.get("RAGWRIGHT_EMBEDDING__QUERY_PRECISION", "int8 (default)"),
            "distinct_queries": len(qs),
            "query_source": "synthetic" if args.synthetic else "scifact queries.jsonl",
            "index": index,
            "corpus": "synthetic" if args.synthetic else "scifact corpus.jsonl",
            "rate_limit_rpm": "raised to 1e8 for the run",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("rps", "p50_ms", "p99_ms", "errors")}))


def compare_tracing(args: argparse.Namespace) -> None:
    """Search throughput with each ``--compare-tracing`` mode, ``--rounds`` interleaved rounds on one index: the
    ``≤ 3 % of search throughput`` figure for ``local``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tracing_ab import interleave

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    tmp_root = Path(tempfile.mkdtemp(prefix="ragwright-serve-tracing-"))
    data_dir = (args.index or tmp_root / "index").resolve()
    try:
        index = build_index(data_dir, args.docs, args.synthetic, args.embedder)
        qs = queries(args.query_pool, args.synthetic)
        key = api_key(data_dir)

        def one(mode: str) -> float:
            port = free_port()
            server = start_server(data_dir, port, args.mode, tmp_root / f"serve-{mode}.log", args.embedder,
                                  args.embed_threads, 1, False, mode)  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}/v1/search"
                warm_up(url, key, qs, args.warmup, args.k)
                load = run_wrk(url, key, qs, args.k, args.seconds, args.concurrency, args.threads, tmp_root)
                if load["errors"]:
                    raise SystemExit(f"{load['errors']} errors with tracing={mode}")
                return float(load["requests"] / load["seconds"])
            finally:
                server.terminate()
                server.wait(30)

        doc = interleave(args.compare_tracing.split(","), args.rounds, one, log)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    doc["config"] = {
        "endpoint": "POST /v1/search",
        "mode": args.mode,
        "concurrency": args.concurrency,
        "seconds_per_run": args.seconds,
        "index": index,
        "distinct_queries": len(qs),
        "access_log": False,
        "cpus": os.cpu_count(),
        "nice": os.nice(0),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc["summary"], indent=2))


def _generate(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = asyncio.run(
        _python_load(spec["url"], spec["key"], spec["queries"], spec["k"], spec["seconds"], spec["concurrency"])
    )
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_generate":
        _generate(sys.argv[2])
    else:
        main()
