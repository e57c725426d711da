"""Hybrid retrieval: BM25 and dense first stages, fused, optionally re-ranked, returned with per-stage timings.

In hybrid mode the keyword search runs on a worker thread beside the query's embedding and dense search: against
PostgreSQL the dense search waits on the server while BM25 is scored in this process (the postings held in memory,
docs/adr/0012), and a local embedder's inference releases the GIL too, so the two first stages overlap instead of
adding up (docs/postgres.md measures it).
"""

from __future__ import annotations

import contextvars
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from opentelemetry.trace import Span

from ragwright.config import RetrievalSettings
from ragwright.errors import UserError
from ragwright.models.base import Embedder, Reranker
from ragwright.observability import semconv, tracing
from ragwright.retrieval.fusion import convex, ranked
from ragwright.store.base import Filters, ScoredChunk, Store, StoredChunk

Mode = Literal["bm25", "dense", "hybrid"]

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's worker threads for first stages run beside the caller's (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ragwright-retrieve")
        return _POOL


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with the scores that placed it."""

    rank: int
    score: float
    chunk: StoredChunk
    bm25: float | None = None
    dense: float | None = None
    rerank: float | None = None


@dataclass(slots=True)
class SearchResult:
    """The ranked hits for one query, the mode that found them and the time each stage took."""

    query: str
    mode: Mode
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Searches one store for one tenant at a time.

    Example::

        retriever = Retriever(store, embedder, settings.retrieval)
        result = retriever.search("acme", "how do I reset the controller?", k=5)
        for hit in result.hits:
            print(hit.rank, hit.chunk.doc_path, hit.score)
    """

    def __init__(
        self, store: Store, embedder: Embedder | None, settings: RetrievalSettings, reranker: Reranker | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.reranker = reranker

    def search(
        self, tenant: str, query: str, *, k: int | None = None, mode: Mode | None = None, filters: Filters | None = None
    ) -> SearchResult:
        attrs = {semconv.OPERATION: semconv.RETRIEVAL, semconv.DATA_SOURCE: tenant, semconv.STORE_TENANT: tenant}
        with tracing.stage(f"retrieval {tenant}", attrs) as span:
            tracing.record_content(span, semconv.RETRIEVAL_QUERY, query)
            result = self._search(tenant, query, k=k, mode=mode, filters=filters)
            if span.is_recording():
                record_hits(span, result)
            return result

    def _search(
        self, tenant: str, query: str, *, k: int | None, mode: Mode | None, filters: Filters | None
    ) -> SearchResult:
        query = query.strip()
        if not query:
            raise UserError("the query is empty")
        k = k or self.settings.k
        mode = mode or self.settings.mode
        if mode != "bm25" and self.embedder is None:
            raise UserError(f"--mode {mode} needs an embedder")
        depth = max(self.settings.candidates, k)
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        started = clock
        keyword: dict[str, float] = {}
        dense: dict[str, float] = {}
        if mode == "bm25":
            keyword = {h.chunk_id: h.score for h in self.store.keyword_search(tenant, query, depth, filters)}
            clock = _lap(timings, "keyword", clock)
        if mode in ("dense", "hybrid"):
            assert self.embedder is not None
            pending = self._keyword_beside(tenant, query, depth, filters) if mode == "hybrid" else None
            qvec = self.embedder.embed_query(query)
            clock = _lap(timings, "embed", clock)
            dense = {h.chunk_id: h.score for h in self.store.vector_search(tenant, qvec, depth, filters)}
            clock = _lap(timings, "vector", clock)
            if pending is not None:
                found, ran_from, ran_to = pending.result()
                keyword = {h.chunk_id: h.score for h in found}
                timings["keyword"] = (ran_to - ran_from) * 1000.0
                tracing.lap("retrieve.keyword", ran_from, ran_to)
                clock = _lap(timings, "keyword_wait", clock)
            if mode == "hybrid" and keyword:
                dense = self._fill_dense(tenant, qvec, keyword, dense)
                clock = _lap(timings, "fill", clock)

        if mode == "bm25":
            fused = keyword
        elif mode == "dense":
            fused = dense
        else:
            fused = convex(keyword, dense, self.settings.dense_weight, self.settings.fusion)
        order = ranked(fused)
        clock = _lap(timings, "fuse", clock)

        rerank_scores: dict[str, float] = {}
        if self.reranker is not None and order:
            head = [cid for cid, _ in order[: self.settings.rerank_depth]]
            chunks = {c.chunk.id: c for c in self.store.get(tenant, head)}
            texts = [chunks[c].chunk.indexed_text for c in head if c in chunks]
            scores = self.reranker.score(query, texts)
            rerank_scores = {cid: float(s) for cid, s in zip([c for c in head if c in chunks], scores, strict=True)}
            order = ranked(rerank_scores) + [(c, s) for c, s in order[len(head) :]]
            clock = _lap(timings, "rerank", clock)

        top = order[:k]
        stored = {c.chunk.id: c for c in self.store.get(tenant, [cid for cid, _ in top])}
        hits = [
            Hit(
                rank=i + 1,
                score=score,
                chunk=stored[cid],
                bm25=keyword.get(cid),
                dense=dense.get(cid),
                rerank=rerank_scores.get(cid),
            )
            for i, (cid, score) in enumerate((c, s) for c, s in top if c in stored)
        ]
        clock = _lap(timings, "fetch", clock)
        timings["total"] = (clock - started) * 1000.0  # wall time: the keyword search overlaps embed + vector
        return SearchResult(query=query, mode=mode, hits=hits, timings_ms=timings)

    def _keyword_beside(
        self, tenant: str, query: str, depth: int, filters: Filters | None
    ) -> Future[tuple[list[ScoredChunk], float, float]]:
        """The keyword search on a worker thread (in this thread's context, so its spans nest under this search),
        with when it ran."""

        def run() -> tuple[list[ScoredChunk], float, float]:
            ran_from = time.perf_counter()
            hits = self.store.keyword_search(tenant, query, depth, filters)
            return hits, ran_from, time.perf_counter()

        return _pool().submit(contextvars.copy_context().run, run)

    def _fill_dense(
        self, tenant: str, qvec: np.ndarray, keyword: dict[str, float], dense: dict[str, float]
    ) -> dict[str, float]:
        """Exact dense scores for keyword-only candidates, so fusion compares both signals on every candidate."""
        missing = [cid for cid in keyword if cid not in dense]
        if not missing:
            return dense
        vectors = self.store.get_vectors(tenant, missing)
        filled = dict(dense)
        for cid, vec in vectors.items():
            filled[cid] = float(vec @ qvec)
        return filled


def _lap(timings: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    timings[name] = timings.get(name, 0.0) + (now - since) * 1000.0
    tracing.lap(f"retrieve.{name}", since, now)
    return now


def record_hits(span: Span, result: SearchResult) -> None:
    """Which chunks a retrieval returned and how they scored (ids and scores: never their text)."""
    span.set_attribute("ragwright.retrieval.mode", result.mode)
    span.set_attribute(semconv.HIT_DOCS, [h.chunk.doc_path for h in result.hits])
    span.set_attribute(semconv.HIT_CHUNKS, [h.chunk.chunk.id for h in result.hits])
    span.set_attribute(semconv.HIT_SCORES, [float(h.score) for h in result.hits])
    for name in ("bm25", "dense", "rerank"):
        scores = [getattr(h, name) for h in result.hits]
        if any(v is not None for v in scores):
            span.set_attribute(f"ragwright.hits.{name}", [float("nan") if v is None else float(v) for v in scores])
