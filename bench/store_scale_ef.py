"""Recall@10 at several hnsw.ef_search on a tenant already loaded and indexed by bench/store_scale.py: the exact truth
from the stored vectors (read back from PostgreSQL), the same SciFact test queries.

    nice -n 5 python bench/store_scale_ef.py "$DSN?options=-csearch_path%3Ds200k,public" 100 100 400 1000 \
        | tail -1 > bench/results/store-scale-ef-sweep.json      # DSN, queries, then the ef_search values
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, "bench")
from pathlib import Path

from store_scale import TENANT, exact_top, pct

from ragwright.bench.retrieval import load_beir_queries
from ragwright.config import PostgresSettings
from ragwright.models.embedder import default_embedder
from ragwright.store.postgres import PostgresStore

dsn, n_queries = sys.argv[1], int(sys.argv[2])
queries, _ = load_beir_queries(Path("/work/shared/datasets/scifact"), "test")
texts = list(queries.values())[:n_queries]
emb = default_embedder(document_precision="int8")
qvecs = np.stack([emb.embed_query(t) for t in texts]).astype(np.float32)
store = PostgresStore(dsn)
t0 = time.perf_counter()
with store._pool.connection() as conn:
    rows = conn.execute("SELECT chunk_id, embedding FROM chunks WHERE tenant = %s ORDER BY id", (TENANT,)).fetchall()
ids = [r[0] for r in rows]
corpus = np.stack([np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows])
del rows
print("loaded", corpus.shape, time.perf_counter() - t0, flush=True)
truth = exact_top(corpus, qvecs, 10)
row_of = {c: i for i, c in enumerate(ids)}
out = {"chunks": len(ids), "queries": n_queries}
for ef in [int(x) for x in sys.argv[3:]]:
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
print(json.dumps(out))
