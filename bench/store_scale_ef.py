"""HNSW recall@10 and latency at several ``hnsw.ef_search`` on a tenant already loaded by bench/store_scale.py, and
optionally after rebuilding its index with other ``m`` / ``ef_construction``: the exact truth from the stored vectors
(read back from PostgreSQL), the same SciFact test queries (query vectors precomputed).

    nice -n 5 python bench/store_scale_ef.py --store "$DSN?options=-csearch_path%3Ds200k,public" --queries 100 \\
        --rebuild --m 16 --ef-construction 200 --ef-search 100 200 400 \\
        --out bench/results/store-scale-hnsw-m16-efc200.json
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

sys.path.insert(0, str(Path(__file__).parent))
from store_scale import TENANT, exact_top, pct, stored_vectors  # noqa: E402

from ragwright.bench.retrieval import load_beir_queries  # noqa: E402
from ragwright.config import PostgresSettings  # noqa: E402
from ragwright.models.embedder import default_embedder  # noqa: E402
from ragwright.store.postgres import PostgresStore  # noqa: E402
from ragwright.store.postgres_vectors import index_name  # noqa: E402


def index_params(store: PostgresStore) -> dict[str, Any]:
    with store._pool.connection() as conn:
        row = conn.execute(
            "SELECT c.reloptions, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (index_name(TENANT),),
        ).fetchone()
    if row is None:
        return {}
    return {"options": row[0], "index_mb": round(row[1] / 2**20, 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    queries, _ = load_beir_queries(args.beir, "test")
    texts = list(queries.values())[: args.queries]
    emb = default_embedder(document_precision="int8")
    qvecs = np.stack([emb.embed_query(t) for t in texts]).astype(np.float32)
    settings = PostgresSettings(
        hnsw_m=args.m, hnsw_ef_construction=args.ef_construction, build_memory=args.build_memory
    )
    store = PostgresStore(args.store, settings=settings)
    out: dict[str, Any] = {"queries": len(texts)}
    if args.rebuild:
        with store._pool.connection() as conn:
            conn.execute(f'DROP INDEX IF EXISTS "{index_name(TENANT)}"')
        store.dense._indexed.discard(TENANT)
        load_before = [round(x, 2) for x in os.getloadavg()]
        t0 = time.perf_counter()
        store.build_vector_index(TENANT)
        out["build_s"] = round(time.perf_counter() - t0, 1)
        out["build_load_average_before"] = load_before
        print(f"built in {out['build_s']} s", flush=True)
    out["index"] = index_params(store)
    ids, corpus = stored_vectors(store)
    out["chunks"] = len(ids)
    truth = exact_top(corpus, qvecs, 10)
    row_of = {c: i for i, c in enumerate(ids)}
    del corpus
    for ef in args.ef_search:
        store.dense.settings = PostgresSettings(ef_search=ef)
        rec, lat = [], []
        for q, ex in zip(qvecs, truth, strict=True):
            t = time.perf_counter()
            hits = store.vector_search(TENANT, q, 10)
            lat.append(time.perf_counter() - t)
            rec.append(len({row_of[h.chunk_id] for h in hits} & ex) / 10)
        out[f"ef_search_{ef}"] = {
            "recall_at_10": round(float(np.mean(rec)), 4),
            "min": min(rec),
            "p50_ms": pct(lat, 50),
            "p99_ms": pct(lat, 99),
        }
        print(ef, out[f"ef_search_{ef}"], flush=True)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--beir", type=Path, default=Path("/work/shared/datasets/scifact"))
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rebuild", action="store_true", help="drop the tenant's HNSW index and build it again")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[100, 400, 1000])
    parser.add_argument("--build-memory", default="2GB", help="maintenance_work_mem for the HNSW build")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
