"""BM25 from the postings table (ragwright's) against PostgreSQL's own full-text ranking, on one PostgreSQL index.

Both rankers read the same chunks of one tenant in a PostgreSQL store already filled by
``ragwright bench retrieval --store ...`` (docs/postgres.md has the command): ragwright's ``keyword_search`` (BM25
with the tenant's statistics, ADR 0001/0006) and ``ts_rank`` / ``ts_rank_cd`` over
``to_tsvector('english', context || text)`` with a GIN index, the query's lexemes OR-ed (``plainto_tsquery`` ANDs
them, which finds nothing for most claims). A document scores as its best chunk, as in the retrieval bench; nDCG@10
and Recall@100 as pytrec_eval computes them.

    python bench/keyword_tsvector.py --store "postgresql://.../postgres?options=-csearch_path%3Dparity,public" \\
        --beir ../shared/datasets/scifact --out bench/results/scifact-bm25-vs-tsrank.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragwright.bench.common import TENANT
from ragwright.bench.retrieval import load_beir_queries
from ragwright.config import load_settings
from ragwright.evals.ir_metrics import evaluate
from ragwright.store.postgres import PostgresStore

TS_QUERY = "to_tsquery('simple', array_to_string(tsvector_to_array(to_tsvector('english', %s)), ' | '))"


def run(args: argparse.Namespace) -> dict[str, Any]:
    r = load_settings(args.config).retrieval
    store = PostgresStore(args.store, bm25_k1=r.bm25_k1, bm25_b=r.bm25_b, context_weight=r.context_weight)
    queries, qrels = load_beir_queries(args.beir, args.split)
    with store._pool.connection() as conn:
        conn.execute("DROP TABLE IF EXISTS tsv_chunks")
        t0 = time.perf_counter()
        conn.execute(
            "CREATE TABLE tsv_chunks AS SELECT chunk_id, doc_id,"
            " to_tsvector('english', context || E'\\n' || text) AS tsv FROM chunks WHERE tenant = %s",
            (TENANT,),
        )
        conn.execute("CREATE INDEX tsv_chunks_gin ON tsv_chunks USING gin (tsv)")
        conn.execute("ANALYZE tsv_chunks")
        build_s = time.perf_counter() - t0
    doc_of: dict[str, str] = {}
    with store._pool.connection() as conn:
        for cid, did in conn.execute("SELECT chunk_id, doc_id FROM chunks WHERE tenant = %s", (TENANT,)):
            doc_of[cid] = did
    runs: dict[str, dict[str, dict[str, float]]] = {"bm25_postings": {}, "ts_rank": {}, "ts_rank_cd": {}}
    latency: dict[str, list[float]] = {name: [] for name in runs}
    for qid, text in queries.items():
        t0 = time.perf_counter()
        hits = [(h.chunk_id, h.score) for h in store.keyword_search(TENANT, text, 100)]
        latency["bm25_postings"].append(time.perf_counter() - t0)
        runs["bm25_postings"][qid] = _by_doc(hits, doc_of)
        for name in ("ts_rank", "ts_rank_cd"):
            t0 = time.perf_counter()
            with store._pool.connection() as conn:
                rows = conn.execute(
                    f"SELECT t.chunk_id, {name}(t.tsv, q) AS s FROM tsv_chunks t, {TS_QUERY} AS q"
                    " WHERE t.tsv @@ q ORDER BY s DESC, t.chunk_id LIMIT 100",
                    (text,),
                ).fetchall()
            latency[name].append(time.perf_counter() - t0)
            runs[name][qid] = _by_doc([(c, float(s)) for c, s in rows], doc_of)
    store.close()
    result: dict[str, Any] = {"dataset": args.beir.name, "split": args.split, "queries": len(queries)}
    for name, run_ in runs.items():
        metrics = evaluate(run_, qrels, ks=(10, 100))
        result[name] = {
            "ndcg@10": round(metrics["ndcg@10"], 4),
            "recall@100": round(metrics["recall@100"], 4),
            "p50_ms": round(float(np.percentile(np.asarray(latency[name]) * 1000, 50)), 2),
        }
    result["tsvector_build_s"] = round(build_s, 1)
    result["bm25"] = {"k1": r.bm25_k1, "b": r.bm25_b, "context_weight": r.context_weight}
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _by_doc(hits: list[tuple[str, float]], doc_of: dict[str, str]) -> dict[str, float]:
    ranking: dict[str, float] = {}
    for cid, score in hits:  # a document scores as its best chunk
        ranking.setdefault(doc_of[cid], score)
    return ranking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", required=True, help="postgresql:// DSN of a store holding the dataset (tenant bench)"
    )
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--config", type=Path, help="ragwright.toml whose [retrieval] BM25 settings to use")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
