"""PostgreSQL keyword search: BM25 in SQL against the postings held in memory (docs/adr/0012), wall time per query.

Runs against a PostgreSQL store that already holds a tenant (e.g. the one ``bench/store_scale.py`` loaded): loads
the tenant's postings once (timed), then asks real BEIR queries through both paths of the same ``PostgresStore``
code (the SQL path is a second store with ``keyword_cache_max = 0``), and compares the results query by query.

    nice -n 5 python bench/keyword_search_postgres.py --store "$DSN?options=-csearch_path%3Ds200k,public" \\
        --tenant scale --beir ../shared/datasets/scifact --queries 300 --sql-queries 40 \\
        --out bench/results/keyword-search-postgres-200k.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragwright.bench.retrieval import load_beir_queries
from ragwright.config import PostgresSettings
from ragwright.store.base import ScoredChunk
from ragwright.store.postgres import PostgresStore


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000.0, q)), 2)


def timed(store: PostgresStore, tenant: str, texts: list[str], k: int) -> tuple[list[float], list[list[ScoredChunk]]]:
    lat: list[float] = []
    out: list[list[ScoredChunk]] = []
    for text in texts:
        t0 = time.perf_counter()
        out.append(store.keyword_search(tenant, text, k))
        lat.append(time.perf_counter() - t0)
    return lat, out


def run(args: argparse.Namespace) -> dict[str, Any]:
    queries, _ = load_beir_queries(args.beir, args.split)
    texts = list(queries.values())[: args.queries]
    weights = {"bm25_k1": 0.9, "bm25_b": 0.4, "context_weight": 3.0}
    mem = PostgresStore(args.store, settings=PostgresSettings(), **weights)  # type: ignore[arg-type]
    sql = PostgresStore(args.store, settings=PostgresSettings(keyword_cache_max=0), **weights)  # type: ignore[arg-type]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    mem.keyword_search(args.tenant, "warm up", 1)
    load_s = time.perf_counter() - t0
    entry = mem.keywords.cache._entries[args.tenant]
    (seg,) = entry.segments  # a fresh load: one segment
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"loaded {len(seg.rows)} postings of {len(entry.chunk_ids)} chunks in {load_s:.1f} s", flush=True)
    mem_lat: list[float] = []
    mem_results: list[list[ScoredChunk]] = []
    for _ in range(args.rounds):
        mem_lat, mem_results = timed(mem, args.tenant, texts, args.k)
    print(f"in memory: p50 {pct(mem_lat, 50)} ms, p99 {pct(mem_lat, 99)} ms", flush=True)
    sql_lat, sql_results = timed(sql, args.tenant, texts[: args.sql_queries], args.k)
    print(f"SQL: p50 {pct(sql_lat, 50)} ms, p99 {pct(sql_lat, 99)} ms", flush=True)
    worst, order_diffs, set_diffs = 0.0, 0, 0
    for a, b in zip(sql_results, mem_results, strict=False):
        order_diffs += [h.chunk_id for h in a] != [h.chunk_id for h in b]
        set_diffs += {h.chunk_id for h in a} != {h.chunk_id for h in b}
        for x, y in zip(a, b, strict=True):
            worst = max(worst, abs(x.score - y.score) / max(abs(x.score), 1e-12))
    mem.close()
    sql.close()
    return {
        "tenant": args.tenant,
        "chunks": len(entry.chunk_ids),
        "postings": int(len(seg.rows)),
        "terms": len(seg.spans),
        "k": args.k,
        "load_s": round(load_s, 2),
        "entry_mb": round((seg.rows.nbytes + seg.tf.nbytes + entry.norm.nbytes + entry.dl.nbytes) / 2**20, 1),
        "peak_rss_growth_mb": round((rss1 - rss0) / 1024, 1),
        "in_memory_ms": {"queries": len(mem_lat), "p50": pct(mem_lat, 50), "p99": pct(mem_lat, 99)},
        "sql_ms": {"queries": len(sql_lat), "p50": pct(sql_lat, 50), "p99": pct(sql_lat, 99)},
        "compared_queries": len(sql_results),
        "worst_relative_score_difference": worst,
        "queries_whose_order_differs": order_diffs,
        "queries_whose_top_k_set_differs": set_diffs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="postgresql:// DSN holding the tenant")
    parser.add_argument("--tenant", default="scale")
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--sql-queries", type=int, default=40, help="queries also asked through the SQL path")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--k", type=int, default=100, help="depth (the retriever asks 100 candidates)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
