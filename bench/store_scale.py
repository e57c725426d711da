"""PostgreSQL store at scale: HNSW recall@10 against exact search, hybrid search latency, build time, index size.

The corpus is N chunks made from the *real* chunks of a benchmark index (an existing SQLite index, e.g. SciFact's):
every real chunk is kept, and replicas are added until there are N. A replica keeps its chunk's text (so BM25 has real
postings) and gets the real vector plus Gaussian noise, re-normalised. **Noise rule**: per dimension
``sigma = 0.5 * median_nn / sqrt(dim)``, where ``median_nn`` is the median, over real vectors, of the Euclidean
distance to the nearest *other* real vector; the expected length of the noise is then half that median distance, so a
replica sits nearer to its original than a typical real neighbour does, and the replicas fill the space between real
chunks rather than piling onto them. Queries are real held-out queries (a BEIR split's queries, never in the corpus),
embedded by the index's own embedder.

Measured, in this order: load (``PostgresStore.bulk_load``: binary COPY per batch of documents, the real chunks
first, then each replica; chunks and postings per second), exact dense search latency at the real size and at N
(before any index exists), the HNSW build after the load (``build_vector_index``: time, index size), then per query
HNSW top-10 against the exact top-10 (numpy over all N vectors in memory) and the full hybrid search
(``Retriever.search``: BM25 from the postings held in memory + HNSW + fusion + fetch, k=10, 100 candidates per list;
the postings are loaded once before timing, ``keyword_load_s``) with the query vector precomputed (query embedding is
the embedder's cost, measured by bench/query_precision.py). ``--reuse`` keeps a tenant already loaded (a second run
with other search settings) and reads its vectors back for the exact truth.

    nice -n 5 python bench/store_scale.py --store "$(cat /tmp/pg/dsn)" --source /tmp/scifact-idx/index.sqlite \\
        --beir ../shared/datasets/scifact --chunks 200000 --out bench/results/store-scale.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.bench.retrieval import load_beir_queries
from ragwright.config import PostgresSettings, RetrievalSettings
from ragwright.documents.model import Chunk, Document
from ragwright.retrieval.retriever import Retriever
from ragwright.store.postgres import PostgresStore
from ragwright.store.postgres_vectors import index_name
from ragwright.store.sqlite import SQLiteStore

TENANT = "scale"
Vectors = npt.NDArray[np.float32]


class _Precomputed:
    """An embedder whose query vectors were computed beforehand (the bench times the store, not the model)."""

    def __init__(self, name: str, dim: int, vectors: dict[str, Vectors]) -> None:
        self.name, self.dim, self._vectors = name, dim, vectors

    def embed_query(self, text: str) -> Vectors:
        return self._vectors[text]

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.stack([self._vectors[t] for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def load_source(path: Path, tenant: str) -> tuple[list[tuple[Document, list[Chunk]]], Vectors, str]:
    """Documents with their chunks (in order) and the chunk vectors, from a SQLite index; the embedder name."""
    src = SQLiteStore(path)
    docs: list[tuple[Document, list[Chunk]]] = []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE tenant = ? ORDER BY id", (tenant,))]
    stored = {s.chunk.id: s for s in src.get(tenant, ids)}
    vectors = src.get_vectors(tenant, ids)
    by_doc: dict[str, list[Chunk]] = {}
    for cid in ids:
        by_doc.setdefault(stored[cid].chunk.doc_id, []).append(stored[cid].chunk)
    for info in src.documents(tenant):
        chunks = by_doc.get(info.doc_id, [])
        doc = Document(
            doc_id=info.doc_id,
            source=info.source,
            file_type=info.file_type,
            title=info.title,
            text="",
            sections=[],
            content_hash=info.content_hash,
        )
        docs.append((doc, chunks))
    matrix = np.stack([vectors[c.id] for _, chunks in docs for c in chunks]).astype(np.float32)
    name = src.embedding_model or "unknown"
    src.close()
    return docs, matrix, name


def nearest_neighbour_distances(x: Vectors, block: int = 2048) -> npt.NDArray[np.float64]:
    """Euclidean distance of every row to its nearest other row (unit vectors: sqrt(2 - 2 cos))."""
    out = np.empty(len(x))
    for start in range(0, len(x), block):
        sims = x[start : start + block] @ x.T
        for i in range(sims.shape[0]):
            sims[i, start + i] = -np.inf
        out[start : start + block] = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims.max(axis=1)))
    return out


def exact_top(corpus: Vectors, queries: Vectors, k: int) -> list[set[int]]:
    """Row numbers of the exact top-k by cosine for each query (numpy, blocks of the corpus)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(corpus), 100_000):
        sims = queries @ corpus[start : start + 100_000].T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cand_scores = np.concatenate([best_scores, np.take_along_axis(sims, part, axis=1)], axis=1)
        cand_rows = np.concatenate([best_rows, part + start], axis=1)
        keep = np.argsort(-cand_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(cand_scores, keep, axis=1)
        best_rows = np.take_along_axis(cand_rows, keep, axis=1)
    return [set(map(int, row)) for row in best_rows]


def exact_latencies(store: PostgresStore, queries: Vectors) -> list[float]:
    """Seconds per exact dense search (k=100) before any HNSW index exists."""
    out: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        store.vector_search(TENANT, q, 100)
        out.append(time.perf_counter() - t0)
    return out


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile in milliseconds (None when nothing was measured)."""
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values) * 1000.0, q)), 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ragwright.models.embedder import default_embedder

    docs, real, name = load_source(args.source, args.source_tenant)
    n_real, dim = real.shape
    nn = nearest_neighbour_distances(real)
    sigma = 0.5 * float(np.median(nn)) / np.sqrt(dim)
    rng = np.random.default_rng(args.seed)

    queries, _ = load_beir_queries(args.beir, args.split)
    texts = list(queries.values())[: args.queries]
    embedder = default_embedder(document_precision="int8" if name.endswith("+int8docs") else "fp32")
    if embedder.name != name:
        raise SystemExit(f"source index embedder {name} is not {embedder.name}")
    qvecs = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)

    settings = PostgresSettings(
        hnsw_min_chunks=10**12,
        ef_search=args.ef_search,
        hnsw_m=args.m,
        hnsw_ef_construction=args.ef_construction,
        build_memory=args.build_memory,
    )
    store = PostgresStore(args.store, settings=settings, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    store.bind_embedder(name, dim)
    load: dict[str, Any] = {}
    exact_small: list[float] = []
    exact_lat: list[float] = []
    if args.reuse and store.stats(TENANT).chunks >= args.chunks:
        load["reused"] = True
        ids, corpus = stored_vectors(store)
        chunk_ids = {cid: i for i, cid in enumerate(ids)}
        print(f"reusing {len(ids)} chunks already loaded", flush=True)
    else:
        started = time.perf_counter()
        offsets = np.cumsum([0] + [len(chunks) for _, chunks in docs])
        store.bulk_load(TENANT, ((d, c, real[o : o + len(c)]) for (d, c), o in zip(docs, offsets[:-1], strict=True)))
        load["real_s"] = round(time.perf_counter() - started, 1)
        print(f"loaded {n_real} real chunks by bulk_load in {load['real_s']} s", flush=True)
        exact_small = exact_latencies(store, qvecs[: args.exact_queries])
        rows: list[Vectors] = [real]
        started = time.perf_counter()
        replica = 0
        while sum(len(r) for r in rows) < args.chunks:
            replica += 1
            m = min(n_real, args.chunks - sum(len(r) for r in rows))
            vecs = _noisy(real[:m], sigma, rng)
            store.bulk_load(TENANT, _replicas(docs, vecs, replica), batch_documents=args.batch_documents)
            rows.append(vecs)
            done = sum(len(r) for r in rows)
            print(f"replica {replica}: {done} chunks, {time.perf_counter() - started:.0f} s", flush=True)
        load["replicas_s"] = round(time.perf_counter() - started, 1)
        corpus = np.concatenate(rows)
        chunk_ids = _chunk_ids(store)
        with store._pool.connection() as conn:
            n_postings = conn.execute("SELECT COUNT(*) FROM postings WHERE tenant = %s", (TENANT,)).fetchone()[0]
        total_s = load["real_s"] + load["replicas_s"]
        load.update(
            chunks_per_s=round(len(corpus) / total_s, 1),
            postings=int(n_postings),
            postings_per_s=round(n_postings / total_s, 1),
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        )
        with store._pool.connection() as conn:
            conn.execute("VACUUM ANALYZE chunks")
            conn.execute("VACUUM ANALYZE postings")
        exact_lat = exact_latencies(store, qvecs[: args.exact_queries])
        print(f"exact dense at {len(corpus)}: p50 {pct(exact_lat, 50)} ms", flush=True)

    retrieval = RetrievalSettings(k=10, candidates=100, bm25_k1=0.9, bm25_b=0.4, context_weight=3.0)
    lookup = dict(zip(texts, qvecs, strict=True))
    retriever = Retriever(store, _Precomputed(name, dim, lookup), retrieval)

    build_s = None
    if not _has_index(store):
        t0 = time.perf_counter()
        store.build_vector_index(TENANT)
        build_s = time.perf_counter() - t0
        print(f"HNSW index built in {build_s:.0f} s", flush=True)
    with store._pool.connection() as conn:
        index_bytes = conn.execute(
            "SELECT COALESCE(pg_relation_size(to_regclass(%s)), 0)", (index_name(TENANT),)
        ).fetchone()[0]
        table_bytes = conn.execute(
            "SELECT pg_total_relation_size('chunks') + pg_total_relation_size('postings')"
        ).fetchone()[0]
        options = conn.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", (index_name(TENANT),))
        index_options = (options.fetchone() or [None])[0]

    truth = exact_top(corpus, qvecs, 10)
    recalls: list[float] = []
    dense_lat: list[float] = []
    for q, exact in zip(qvecs, truth, strict=True):
        t0 = time.perf_counter()
        hits = store.vector_search(TENANT, q, 10)
        dense_lat.append(time.perf_counter() - t0)
        got = {chunk_ids[h.chunk_id] for h in hits}
        recalls.append(len(got & exact) / 10.0)
    print(f"recall@10 {np.mean(recalls):.4f}, HNSW p50 {pct(dense_lat, 50)} ms", flush=True)
    t0 = time.perf_counter()
    store.keyword_search(TENANT, texts[0], 1)  # loads the tenant's postings into memory (once per process)
    keyword_load_s = time.perf_counter() - t0
    print(f"keyword postings loaded in {keyword_load_s:.0f} s", flush=True)
    hybrid_lat: list[float] = []
    keyword_lat: list[float] = []
    dense100_lat: list[float] = []
    for _ in range(args.rounds):
        for text in texts:
            t0 = time.perf_counter()
            retriever.search(TENANT, text, k=10, mode="hybrid")
            hybrid_lat.append(time.perf_counter() - t0)
            t0 = time.perf_counter()  # the two candidate lists the hybrid search asked for, timed alone
            store.keyword_search(TENANT, text, 100)
            keyword_lat.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.vector_search(TENANT, lookup[text], 100)
            dense100_lat.append(time.perf_counter() - t0)
    print(f"hybrid p50 {pct(hybrid_lat, 50)} ms, p99 {pct(hybrid_lat, 99)} ms", flush=True)
    store.close()
    return {
        "chunks": int(len(corpus)),
        "real_chunks": int(n_real),
        "source": str(args.source),
        "embedder": name,
        "noise": {
            "rule": "sigma = 0.5 * median nearest-real-neighbour distance / sqrt(dim)",
            "median_nn": round(float(np.median(nn)), 4),
            "sigma": round(sigma, 6),
        },
        "queries": len(texts),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "recall_at_10_min": round(float(np.min(recalls)), 2),
        "p99_ms": pct(hybrid_lat, 99),
        "hybrid_ms": {"p50": pct(hybrid_lat, 50), "p95": pct(hybrid_lat, 95), "p99": pct(hybrid_lat, 99)},
        "hnsw_dense_ms": {"p50": pct(dense_lat, 50), "p99": pct(dense_lat, 99)},
        "stages_ms_k100": {
            "keyword": {"p50": pct(keyword_lat, 50), "p99": pct(keyword_lat, 99)},
            "dense": {"p50": pct(dense100_lat, 50), "p99": pct(dense100_lat, 99)},
        },
        "exact_dense_ms_k100": {
            "at_real_chunks": {"p50": pct(exact_small, 50), "max": pct(exact_small, 100)},
            "at_n": {"p50": pct(exact_lat, 50), "max": pct(exact_lat, 100)},
            "queries": len(exact_lat),
        },
        "load": load,
        "build_s": round(build_s, 1) if build_s is not None else None,
        "keyword_load_s": round(keyword_load_s, 1),
        "index_mb": round(index_bytes / 2**20, 1),
        "tables_mb": round(table_bytes / 2**20, 1),
        "hnsw": {"index_options": index_options, "ef_search": args.ef_search},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _replicas(
    docs: list[tuple[Document, list[Chunk]]], vecs: Vectors, replica: int
) -> Iterator[tuple[Document, list[Chunk], Vectors]]:
    """Replica ``replica`` of the first ``len(vecs)`` real chunks (in load order): the same text and document
    metadata, ids suffixed ``#r<replica>``, vectors ``vecs``."""
    first = 0
    for doc, chunks in docs:
        if first >= len(vecs):
            return
        take = chunks[: len(vecs) - first]
        if take:
            doc_id = f"{doc.doc_id}#r{replica}"
            copies = [dataclasses.replace(c, id=f"{c.id}r{replica}", doc_id=doc_id) for c in take]
            yield dataclasses.replace(doc, doc_id=doc_id), copies, vecs[first : first + len(take)]
        first += len(take)


def _has_index(store: PostgresStore) -> bool:
    with store._pool.connection() as conn:
        return store.dense.has_index(conn, TENANT)


def stored_vectors(store: PostgresStore) -> tuple[list[str], Vectors]:
    """The tenant's chunk ids and vectors in row order, read in slices."""
    ids: list[str] = []
    parts: list[Vectors] = []
    last = 0
    with store._pool.connection() as conn:
        while True:
            rows = conn.execute(
                "SELECT id, chunk_id, embedding FROM chunks WHERE tenant = %s AND id > %s ORDER BY id LIMIT 50000",
                (TENANT, last),
            ).fetchall()
            if not rows:
                break
            last = rows[-1][0]
            ids += [r[1] for r in rows]
            parts.append(np.stack([np.asarray(r[2].to_numpy(), dtype=np.float32) for r in rows]))
    return ids, np.concatenate(parts)


def _noisy(rows: Vectors, sigma: float, rng: np.random.Generator) -> Vectors:
    out = rows + rng.normal(0.0, sigma, size=rows.shape).astype(np.float32)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _chunk_ids(store: PostgresStore) -> dict[str, int]:
    """Chunk id -> row number in load order (the ``id`` identity column follows insertion order)."""
    with store._pool.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE tenant = %s ORDER BY id", (TENANT,))]
    return {cid: i for i, cid in enumerate(ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="postgresql:// DSN (an empty database or schema)")
    parser.add_argument("--source", type=Path, required=True, help="SQLite index whose chunks and vectors are reused")
    parser.add_argument("--source-tenant", default="bench")
    parser.add_argument("--beir", type=Path, required=True, help="BEIR dataset whose queries are asked")
    parser.add_argument("--split", default="test")
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--exact-queries", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="hybrid passes over the queries")
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=128)
    parser.add_argument("--ef-search", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-memory", default="2GB", help="maintenance_work_mem for the HNSW build")
    parser.add_argument("--batch-documents", type=int, default=2000, help="documents per bulk-load transaction")
    parser.add_argument("--reuse", action="store_true", help="keep a tenant that already holds --chunks chunks")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
