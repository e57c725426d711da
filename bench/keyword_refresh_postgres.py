"""PostgreSQL keyword search after writes by another process: the refresh of held postings against a full load.

Two stores on one database stand for two replicas. B loads a big tenant's postings (timed: the cost a write used to
impose once it had earned a reload, after searches on the SQL path); then A writes probe documents (copies of the
tenant's own first documents under new ids: real text, real vectors) — one document, then ten (ten versions) — and
deletes them all again, and after each step B's next keyword search is timed (it includes the refresh: the change
log, the added postings, the new statistics). B's cache counters show whether any search took the SQL path or
reloaded. B's results after the writes are compared with the SQL path's for a few queries. The tenant ends as it
began (the probe documents are deleted).

    nice -n 5 python bench/keyword_refresh_postgres.py --store "$DSN?options=-csearch_path%3Ds200k,public" \\
        --tenant scale --beir ../shared/datasets/scifact --out bench/results/keyword-refresh-postgres-200k.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragwright.bench.retrieval import load_beir_queries
from ragwright.config import PostgresSettings
from ragwright.documents.model import Chunk, Document
from ragwright.store.postgres import PostgresStore

WEIGHTS = {"bm25_k1": 0.9, "bm25_b": 0.4, "context_weight": 3.0}
Probe = tuple[Document, list[Chunk], np.ndarray]


def probes(store: PostgresStore, tenant: str, n: int) -> list[Probe]:
    """Copies of the tenant's first ``n`` documents (text, chunks and vectors) under new ids."""
    out: list[Probe] = []
    for info in store.documents(tenant, limit=n):
        stored = store.chunks(tenant, info.doc_id)
        vectors = store.get_vectors(tenant, [s.chunk.id for s in stored])
        doc_id = f"refresh-probe/{len(out)}"
        chunks = [dataclasses.replace(s.chunk, id=f"{s.chunk.id}-probe", doc_id=doc_id) for s in stored]
        doc = Document(doc_id, info.source, info.file_type, info.title, "", [], f"probe:{info.content_hash}")
        out.append((doc, chunks, np.stack([vectors[s.chunk.id] for s in stored])))
    return out


def timed_search(store: PostgresStore, tenant: str, text: str) -> float:
    t0 = time.perf_counter()
    store.keyword_search(tenant, text, 100)
    return round((time.perf_counter() - t0) * 1000.0, 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    queries, _ = load_beir_queries(args.beir, "test")
    texts = list(queries.values())[: args.queries]
    a = PostgresStore(args.store, settings=PostgresSettings(), **WEIGHTS)  # type: ignore[arg-type]
    b = PostgresStore(args.store, settings=PostgresSettings(), **WEIGHTS)  # type: ignore[arg-type]
    sql = PostgresStore(args.store, settings=PostgresSettings(keyword_cache_max=0), **WEIGHTS)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    b.keyword_search(args.tenant, texts[0], 1)
    load_s = round(time.perf_counter() - t0, 1)
    print(f"B loaded the tenant's postings in {load_s} s", flush=True)
    steady = [timed_search(b, args.tenant, t) for t in texts]
    docs = probes(a, args.tenant, 11)
    steps: list[dict[str, Any]] = []

    def step(name: str, chunks: int) -> None:
        ms = [timed_search(b, args.tenant, t) for t in texts[:3]]
        steps.append({"step": name, "chunks": chunks, "first_search_ms": ms[0], "next_searches_ms": ms[1:]})
        print(f"{name}: first search {ms[0]} ms, then {ms[1:]} ms", flush=True)

    a.upsert(args.tenant, *docs[0])
    step("1 document added (1 version)", len(docs[0][1]))
    for doc in docs[1:]:
        a.upsert(args.tenant, *doc)
    step("10 documents added (10 versions)", sum(len(d[1]) for d in docs[1:]))
    differing = 0
    for text in texts[: args.sql_queries]:
        got, want = b.keyword_search(args.tenant, text, 100), sql.keyword_search(args.tenant, text, 100)
        same = [g.chunk_id for g in got] == [w.chunk_id for w in want]
        differing += not (
            same and all(abs(g.score - w.score) <= 1e-9 * abs(w.score) for g, w in zip(got, want, strict=True))
        )
    for doc, _, _ in docs:
        a.delete(args.tenant, doc.doc_id)
    step("11 documents deleted (11 versions)", sum(len(d[1]) for d in docs))
    counts = dataclasses.asdict(b.keywords.cache.counts)
    for store in (a, b, sql):
        store.close()
    return {
        "tenant": args.tenant,
        "full_load_s": load_s,
        "steady_search_ms": {"p50": float(np.percentile(steady, 50)), "p99": float(np.percentile(steady, 99))},
        "steps": steps,
        "b_cache_counts": counts,
        "compared_with_sql": args.sql_queries,
        "differing_from_sql": differing,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="postgresql:// DSN of the schema holding the tenant")
    parser.add_argument("--tenant", default="scale")
    parser.add_argument("--beir", type=Path, required=True, help="BEIR dataset whose test queries are asked")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--sql-queries", type=int, default=3, help="queries compared with the SQL path (slow)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
