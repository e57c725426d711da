"""`ragwright bench retrieval`: index a BEIR dataset into a fresh store and score retrieval as pytrec_eval does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragwright.app import Ragwright
from ragwright.bench.common import TENANT, index_dir, percentiles_ms, reused_vectors, store_kind, write_json
from ragwright.config import Settings
from ragwright.documents.beir import iter_beir_corpus
from ragwright.errors import UserError
from ragwright.evals.ir_metrics import evaluate
from ragwright.ingest.pipeline import ProgressCallback
from ragwright.models.base import Embedder
from ragwright.retrieval.retriever import Mode


def load_beir_queries(beir: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries and graded qrels of one split; only queries that have judgements in that split."""
    qrels_path = beir / "qrels" / f"{split}.tsv"
    if not (beir / "corpus.jsonl").is_file() or not qrels_path.is_file():
        raise UserError(f"{beir} is not a BEIR dataset with split {split!r} (need corpus.jsonl and {qrels_path})")
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if n == 0 and parts[0] == "query-id" or len(parts) < 3:
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries: dict[str, str] = {}
    with (beir / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                if str(rec["_id"]) in qrels:
                    queries[str(rec["_id"])] = rec["text"]
    return queries, {q: r for q, r in qrels.items() if q in queries}


def run_retrieval_bench(
    beir: Path,
    *,
    settings: Settings,
    split: str = "test",
    mode: Mode = "hybrid",
    index: Path | None = None,
    out: Path | None = None,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    on_query: Callable[[int, int], None] | None = None,
    vectors_from: Path | None = None,
) -> dict[str, Any]:
    """``settings.store`` picks the store (a PostgreSQL DSN: an empty database or schema); ``vectors_from`` names a
    kept SQLite index whose vectors are reused, so two stores are compared on identical vectors."""
    queries, qrels = load_beir_queries(beir, split)
    with index_dir(index) as data_dir, reused_vectors(vectors_from, settings, embedder) as embedder:
        rw = Ragwright(settings.model_copy(update={"data_dir": data_dir}), embedder=embedder)
        try:
            from ragwright.ingest.pipeline import Ingestor

            ingestor = Ingestor(rw.store, rw.embedder, rw.settings, progress)
            docs = list(iter_beir_corpus(beir / "corpus.jsonl"))
            report = ingestor.ingest_documents(docs, tenant=TENANT, total=len(docs))
            stats = rw.store.stats(TENANT)
            run: dict[str, dict[str, float]] = {}
            latencies: list[float] = []
            for i, (qid, text) in enumerate(queries.items()):
                started = time.perf_counter()
                result = rw.search(text, tenant=TENANT, k=100, mode=mode)
                latencies.append(time.perf_counter() - started)
                ranking: dict[str, float] = {}
                for hit in result.hits:  # a document scores as its best chunk
                    ranking.setdefault(hit.chunk.chunk.doc_id, hit.score)
                run[qid] = ranking
                if on_query is not None:
                    on_query(i + 1, len(queries))
        finally:
            rw.close()
    metrics = evaluate(run, qrels, ks=(10, 100))
    ingest_s = report.seconds
    result_json: dict[str, Any] = {
        "dataset": beir.name,
        "split": split,
        "mode": mode,
        "queries": len(queries),
        "metrics": {
            "ndcg@10": round(metrics["ndcg@10"], 4),
            "recall@10": round(metrics["recall@10"], 4),
            "recall@100": round(metrics["recall@100"], 4),
            "mrr@10": round(metrics["mrr@10"], 4),
        },
        "latency_ms": percentiles_ms(latencies),
        "ingest": {
            "docs": stats.documents,
            "chunks": stats.chunks,
            "seconds": round(ingest_s, 2),
            "chunks_embedded": report.chunks_embedded,
            # None when a kept --index made this run embed nothing: see bench/ingest_throughput.py
            "chunks_per_s": round(report.chunks_embedded / ingest_s, 2) if report.chunks_embedded else None,
            "reused_index": index is not None,
        },
        "store": store_kind(settings),
        "config": {
            "embedder": rw.embedder.name,
            "retrieval": settings.retrieval.model_dump(),
            "chunk_tokens": settings.ingest.chunk_tokens,
        },
    }
    write_json(out, result_json)
    return result_json
