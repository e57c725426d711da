"""Hybrid search latency on the PostgreSQL store from two source trees, interleaved query by query in one session.

    git -C /work/main archive 36c30d7 src | tar -x -C /tmp/before        # the tree before the change
    nice -n 5 python bench/hybrid_ab.py --a /tmp/before --b . --queries 100 --rounds 2 \\
        --store "$DSN?options=-csearch_path%3Ds200k,public" --beir ../shared/datasets/scifact \\
        --out bench/results/hybrid-ab-200k.json

Two worker processes (``PYTHONPATH=<tree>/src``, the same venv) open the same tenant (``--tenant``, e.g. the one
``bench/store_scale.py`` loaded) with the default ``[postgres]`` settings, load its keyword postings (once, before
timing) and wait; the parent then sends each query to A and B in turn, the order alternating from query to query, so
a change in the machine's load falls on both alike. Each search is ``Retriever.search(mode="hybrid", k=10)`` with
100 candidates per list and the query vector precomputed (embedding is the model's cost, not the store's). Reported:
p50/p95/p99 per tree, the ratios B/A, each stage's p50 and p99 (``timings_ms``), the load average through the run, and
whether both trees returned the same hits (same ids in the same order) for every query.

``--store-b`` gives B another copy of the data (same tree on both sides: a change of layout, e.g. vectors in the row
against vectors in TOAST); ``--ef-search`` sets ``[postgres] ef_search`` on both sides (1000 for the 1,000,000-chunk
tenant's m=48 index). What is in the server's shared buffers is the server's state, not a tree's: compare prewarmed
and cold by running the bench after each, and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

TENANT = "scale"


def worker(args: argparse.Namespace) -> None:
    """Serve searches: read a query number per line on stdin, answer one JSON line on stdout."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from store_scale import _Precomputed  # the sibling benchmark's embedder of precomputed vectors

    from ragwright.config import PostgresSettings, RetrievalSettings
    from ragwright.retrieval.retriever import Retriever
    from ragwright.store.postgres import PostgresStore

    texts: list[str] = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    qvecs = np.load(args.vectors)
    settings = PostgresSettings() if args.ef_search is None else PostgresSettings(ef_search=args.ef_search)
    store = PostgresStore(args.store, settings=settings, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    name, dim = store.embedding_model or "", int(qvecs.shape[1])
    retrieval = RetrievalSettings(k=10, candidates=100, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    retriever = Retriever(store, _Precomputed(name, dim, dict(zip(texts, qvecs, strict=True))), retrieval)
    started = time.perf_counter()
    store.keyword_search(args.tenant, texts[0], 1)  # the postings, loaded once before timing
    retriever.search(args.tenant, texts[0], k=10, mode="hybrid")
    print(json.dumps({"ready": round(time.perf_counter() - started, 1)}), flush=True)
    for line in sys.stdin:
        text = texts[int(line)]
        t0 = time.perf_counter()
        result = retriever.search(args.tenant, text, k=10, mode="hybrid")
        ms = (time.perf_counter() - t0) * 1000.0
        hits = [h.chunk.chunk.id for h in result.hits]
        print(json.dumps({"ms": ms, "timings": result.timings_ms, "hits": hits}), flush=True)
    store.close()


def _start(tree: Path, store: str, args: argparse.Namespace, texts: Path, vectors: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env["PYTHONPATH"] = str(tree.resolve() / "src")
    cmd = [sys.executable, __file__, "--worker", "--store", store, "--tenant", args.tenant]
    cmd += ["--texts", str(texts), "--vectors", str(vectors), "--beir", str(args.beir)]
    if args.ef_search is not None:
        cmd += ["--ef-search", str(args.ef_search)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def _ask(proc: subprocess.Popen[str], i: int) -> dict[str, Any]:
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    stdin.write(f"{i}\n")
    stdin.flush()
    return dict(json.loads(_line(stdout)))


def _line(stream: TextIO) -> str:
    line = stream.readline()
    if not line:
        raise SystemExit("a worker exited early (see its stderr above)")
    return line


def _where(dsn: str) -> str:
    """The DSN without its user and password (kept in the results)."""
    return dsn.rpartition("@")[2]


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles of one tree's searches and each stage's median."""
    ms = [r["ms"] for r in runs]
    stages = sorted({s for r in runs for s in r["timings"]})
    return {
        "p50": _pct(ms, 50),
        "p95": _pct(ms, 95),
        "p99": _pct(ms, 99),
        "mean": round(float(np.mean(ms)), 2),
        "stages_p50": {s: _pct([r["timings"].get(s, 0.0) for r in runs], 50) for s in stages},
        "stages_p99": {s: _pct([r["timings"].get(s, 0.0) for r in runs], 99) for s in stages},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, help="source tree before (holds src/ragwright)")
    parser.add_argument("--b", type=Path, default=Path("."), help="source tree after")
    parser.add_argument("--store", required=True, help="postgresql:// DSN of the schema holding the tenant")
    parser.add_argument("--store-b", help="B's DSN when it differs (the same tree on two copies of the data)")
    parser.add_argument("--tenant", default=TENANT)
    parser.add_argument("--beir", type=Path, required=True, help="BEIR dataset whose test queries are asked")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ef-search", type=int, help="[postgres] ef_search for both trees (default: the default)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.a is None:
        parser.error("--a is required")

    from ragwright.bench.retrieval import load_beir_queries
    from ragwright.models.embedder import default_embedder

    queries, _ = load_beir_queries(args.beir, "test")
    texts = list(queries.values())[: args.queries]
    embedder = default_embedder()
    qvecs = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-ab-"))
    (tmp / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    np.save(tmp / "vectors.npy", qvecs)
    procs: dict[str, subprocess.Popen[str]] = {}
    ready = {}
    stores = {"a": args.store, "b": args.store_b or args.store}
    for name, tree in (("a", args.a), ("b", args.b)):  # one after the other: two loads at once double the peak RSS
        proc = procs[name] = _start(tree, stores[name], args, tmp / "texts.json", tmp / "vectors.npy")
        assert proc.stdout is not None
        ready[name] = json.loads(_line(proc.stdout))["ready"]
    print(f"workers ready (keyword postings loaded): {ready}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    loads = [round(os.getloadavg()[0], 2)]
    same = 0
    for r in range(args.rounds):
        for i in range(len(texts)):
            order = ("a", "b") if (i + r) % 2 == 0 else ("b", "a")
            got = {name: _ask(procs[name], i) for name in order}
            for name in order:
                runs[name].append(got[name])
            same += got["a"]["hits"] == got["b"]["hits"]
            if i % 25 == 0:
                loads.append(round(os.getloadavg()[0], 2))
        print(
            f"round {r + 1}: a p50 {_pct([x['ms'] for x in runs['a']], 50)} ms, b p50 "
            f"{_pct([x['ms'] for x in runs['b']], 50)} ms (load {loads[-1]})",
            flush=True,
        )
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
    a, b = summary(runs["a"]), summary(runs["b"])
    result = {
        "tenant": args.tenant,
        "ef_search": args.ef_search or "default",
        "queries": len(texts),
        "rounds": args.rounds,
        "a": {"tree": str(args.a), "store": _where(stores["a"]), **a},
        "b": {"tree": str(args.b), "store": _where(stores["b"]), **b},
        "ratio_b_over_a": {q: round(b[q] / a[q], 3) for q in ("p50", "p95", "p99", "mean")},
        "same_hits": f"{same}/{len(texts) * args.rounds}",
        "keyword_load_s": ready,
        "load_average": {"min": min(loads), "max": max(loads), "samples": loads},
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
