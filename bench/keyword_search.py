"""Keyword search cost: BM25 in SQL against the in-memory postings (docs/adr/0001), same process, CPU time.

Usage: ``python bench/keyword_search.py /tmp/h1`` where the directory holds a copy of a SciFact index (tenant
"default"); queries and qrels from /work/shared/datasets/scifact. Prints CPU ms per query of each path, the ratio,
the worst relative score difference, and BM25-only nDCG@10 of each (a document scores as its best chunk).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.evals.ir_metrics import evaluate
from ragwright.store.base import ScoredChunk
from ragwright.store.sqlite import SQLiteStore

DATA = Path("/work/shared/datasets/scifact")


def load_queries() -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    for line in (DATA / "queries.jsonl").read_text().splitlines():
        q = json.loads(line)
        if q["_id"] in qrels:
            queries[q["_id"]] = q["text"]
    return queries, qrels


def timed(
    store: SQLiteStore, queries: dict[str, str], depth: int, rounds: int
) -> tuple[float, dict[str, list[ScoredChunk]]]:
    results = {qid: store.keyword_search("default", text, depth) for qid, text in queries.items()}  # warm up
    start = time.process_time()
    for _ in range(rounds):
        for text in queries.values():
            store.keyword_search("default", text, depth)
    per_query_ms = (time.process_time() - start) * 1000 / (rounds * len(queries))
    return per_query_ms, results


def ndcg(store: SQLiteStore, results: dict[str, list[ScoredChunk]], qrels: dict[str, dict[str, int]]) -> float:
    doc_of = dict(store._db.execute("SELECT chunk_id, doc_id FROM chunks WHERE tenant = 'default'").fetchall())
    run: dict[str, dict[str, float]] = {}
    for qid, hits in results.items():
        docs: dict[str, float] = {}
        for h in hits:
            doc = doc_of[h.chunk_id].rsplit("#", 1)[-1]
            docs[doc] = max(docs.get(doc, float("-inf")), h.score)
        run[qid] = docs
    return evaluate(run, qrels, ks=(10,))["ndcg@10"]


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/h1")
    depth, rounds = 100, 3
    settings = load_settings(data_dir=data_dir)
    store = Ragwright(settings).store
    assert isinstance(store, SQLiteStore)
    r = settings.retrieval
    sql_store = SQLiteStore(
        settings.index_path, bm25_k1=r.bm25_k1, bm25_b=r.bm25_b, context_weight=r.context_weight, keyword_cache_max=0
    )  # the SQL path: no tenant fits the cache
    queries, qrels = load_queries()
    start = time.process_time()
    store.keyword_search("default", "warm", 1)
    load_ms = (time.process_time() - start) * 1000
    sql_ms, sql_results = timed(sql_store, queries, depth, rounds)
    mem_ms, mem_results = timed(store, queries, depth, rounds)
    worst, order_diffs = 0.0, 0
    for qid in queries:
        a, b = sql_results[qid], mem_results[qid]
        order_diffs += [h.chunk_id for h in a] != [h.chunk_id for h in b]
        for x, y in zip(a, b, strict=True):
            worst = max(worst, abs(x.score - y.score) / max(abs(x.score), 1e-12))
    print(f"queries={len(queries)} depth={depth} rounds={rounds}")
    print(f"cache load (first use): {load_ms:.0f} ms CPU")
    print(f"SQL path:  {sql_ms:.3f} ms CPU/query")
    print(f"in-memory: {mem_ms:.3f} ms CPU/query  ({sql_ms / mem_ms:.1f}x cheaper)")
    print(f"worst relative score difference: {worst:.2e}; queries whose order differs: {order_diffs}")
    print(
        f"BM25 nDCG@10: SQL {ndcg(sql_store, sql_results, qrels):.4f}, in-memory {ndcg(store, mem_results, qrels):.4f}"
    )


if __name__ == "__main__":
    main()
