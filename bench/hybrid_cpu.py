"""CPU per leg of a hybrid search on the PostgreSQL store: the floor under its latency, apart from the machine's load.

    nice -n 5 python bench/hybrid_cpu.py --store "postgresql://…/scale1m" --beir ../shared/datasets/scifact \\
        --queries 100 --ef-search 1000 --out bench/results/hybrid-cpu-1m.json

On a loaded machine a search's wall time is mostly waiting for a core, so its percentiles move with everyone else's
work. This bench measures what each leg costs in CPU, which does not: the dense HNSW query (k=100, as the retriever
asks) in the server backend that ran it (``/proc/<backend pid>/schedstat``: the server must run on this host), the
keyword search (k=100, postings held in memory, loaded before timing) in this process's thread, and a whole
``Retriever.search(mode="hybrid", k=10)`` in this process (both its threads; its server-side work, the dense leg's
plus the fill and fetch queries, is not counted). Wall times are reported beside them, with the load average. Each
query is asked ``--rounds`` times, the last round timed; the first ones warm whatever the server has not cached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _on_cpu_ns(pid: int) -> int:
    """Nanoseconds process ``pid`` has run on a CPU (first field of /proc/<pid>/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _pcts(values: list[float]) -> dict[str, float]:
    return {f"p{q}": round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)} | {
        "mean": round(float(np.mean(values)), 2)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="postgresql:// DSN of the schema holding the tenant (local)")
    parser.add_argument("--tenant", default="scale")
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ef-search", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from store_scale import _Precomputed

    from ragwright.bench.retrieval import load_beir_queries
    from ragwright.config import PostgresSettings, RetrievalSettings
    from ragwright.models.embedder import default_embedder
    from ragwright.retrieval.retriever import Retriever
    from ragwright.store.postgres import PostgresStore

    queries, _ = load_beir_queries(args.beir, "test")
    texts = list(queries.values())[: args.queries]
    embedder = default_embedder()
    qvecs = [np.asarray(embedder.embed_query(t), dtype=np.float32) for t in texts]
    settings = PostgresSettings() if args.ef_search is None else PostgresSettings(ef_search=args.ef_search)
    store = PostgresStore(args.store, settings=settings, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    retrieval = RetrievalSettings(k=10, candidates=100, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    name = store.embedding_model or ""
    retriever = Retriever(store, _Precomputed(name, len(qvecs[0]), dict(zip(texts, qvecs, strict=True))), retrieval)
    started = time.perf_counter()
    store.keyword_search(args.tenant, texts[0], 1)  # the postings, loaded once before timing
    keyword_load_s = round(time.perf_counter() - started, 1)
    loads = [round(os.getloadavg()[0], 2)]
    rows: dict[str, list[float]] = {
        k: [] for k in ("dense_cpu", "dense_wall", "kw_cpu", "kw_wall", "hy_cpu", "hy_wall")
    }
    for r in range(args.rounds):
        for text, q in zip(texts, qvecs, strict=True):
            with store._pool.connection() as conn:
                pid = conn.info.backend_pid
                cpu0, t0 = _on_cpu_ns(pid), time.perf_counter()
                store.dense.search(conn, args.tenant, q, 100, None)
                wall, cpu = time.perf_counter() - t0, _on_cpu_ns(pid) - cpu0
            if r == args.rounds - 1:
                rows["dense_wall"].append(wall * 1e3)
                rows["dense_cpu"].append(cpu / 1e6)
            c0, t0 = time.thread_time(), time.perf_counter()
            store.keyword_search(args.tenant, text, 100)
            if r == args.rounds - 1:
                rows["kw_wall"].append((time.perf_counter() - t0) * 1e3)
                rows["kw_cpu"].append((time.thread_time() - c0) * 1e3)
            c0, t0 = time.process_time(), time.perf_counter()
            retriever.search(args.tenant, text, k=10, mode="hybrid")
            if r == args.rounds - 1:
                rows["hy_wall"].append((time.perf_counter() - t0) * 1e3)
                rows["hy_cpu"].append((time.process_time() - c0) * 1e3)
        loads.append(round(os.getloadavg()[0], 2))
    store.close()
    result: dict[str, Any] = {
        "store": args.store.rpartition("@")[2],
        "tenant": args.tenant,
        "ef_search": settings.ef_search,
        "queries": len(texts),
        "rounds": args.rounds,
        "timed_round": args.rounds,
        "keyword_load_s": keyword_load_s,
        "dense_server_cpu_ms": _pcts(rows["dense_cpu"]),
        "dense_wall_ms": _pcts(rows["dense_wall"]),
        "keyword_cpu_ms": _pcts(rows["kw_cpu"]),
        "keyword_wall_ms": _pcts(rows["kw_wall"]),
        "hybrid_client_cpu_ms": _pcts(rows["hy_cpu"]),
        "hybrid_wall_ms": _pcts(rows["hy_wall"]),
        "load_average": {"min": min(loads), "max": max(loads), "samples": loads},
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
