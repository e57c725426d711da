"""`ragwright bench answers`: retrieval and extractive answering on a SQuAD-format set, beside a trivial baseline.

Every ``holdout``-th paragraph is left out of the index; its questions are unanswerable by construction, which measures
abstention honestly: a good system answers the indexed questions and abstains on the held-out ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragwright.answering import extractive
from ragwright.answering.answerability import resolve_model
from ragwright.answering.evidence import score_sentences
from ragwright.answering.features import extract_features
from ragwright.answering.sentences import split_sentences
from ragwright.app import Ragwright
from ragwright.bench.common import (
    TENANT,
    MemoEmbedder,
    index_dir,
    percentiles_ms,
    reused_vectors,
    store_kind,
    write_json,
)
from ragwright.bench.squad import exact_match, f1, held_out_ids, load_squad
from ragwright.config import Settings
from ragwright.ingest.pipeline import Ingestor, ProgressCallback
from ragwright.models.base import Embedder
from ragwright.retrieval.analysis import query_terms


def run_answer_bench(
    squad: Path,
    *,
    settings: Settings,
    holdout: int = 5,
    index: Path | None = None,
    out: Path | None = None,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    on_query: Callable[[int, int], None] | None = None,
    limit: int | None = None,
    vectors_from: Path | None = None,
) -> dict[str, Any]:
    """``settings.store`` picks the store; ``vectors_from`` reuses a kept SQLite index's vectors (see
    :func:`ragwright.bench.retrieval.run_retrieval_bench`)."""
    docs, questions = load_squad(squad)
    held_out = held_out_ids(docs, holdout)
    indexed = [d for d in docs if d.doc_id not in held_out]
    if limit:
        questions = questions[:limit]
    model = resolve_model(settings.answer.answerability_model)
    threshold = settings.answer.min_answerability if settings.answer.min_answerability is not None else model.threshold
    sums = {k: 0.0 for k in ("r1", "r5", "em", "f1", "base_em", "base_f1", "abstain_ok", "abstain_bad")}
    n_answerable = n_unanswerable = 0
    latencies: list[float] = []
    with index_dir(index) as data_dir, reused_vectors(vectors_from, settings, embedder) as embedder:
        rw = Ragwright(settings.model_copy(update={"data_dir": data_dir}), embedder=embedder)
        try:
            Ingestor(rw.store, rw.embedder, rw.settings, progress).ingest_documents(
                indexed, tenant=TENANT, total=len(indexed)
            )
            memo = MemoEmbedder(rw.embedder)  # the same evidence sentences come back question after question
            calibration = rw.asker("extractive").calibration(TENANT)  # a corpus-calibrated model's (else None)
            for i, q in enumerate(questions):
                started = time.perf_counter()
                result = rw.search(q.question, tenant=TENANT, k=max(5, settings.answer.evidence_k))
                evidence = result.hits[: settings.answer.evidence_k]
                scored = score_sentences(q.question, evidence, memo)
                chosen = extractive.select(scored, max_sentences=1)
                latencies.append(time.perf_counter() - started)
                idf = rw.store.term_idf(TENANT, query_terms(q.question))
                features = extract_features(q.question, evidence, scored, idf, k1=rw.store.bm25_k1)
                abstains = model.probability(features, calibration) < threshold  # as Asker decides
                if q.doc_id in held_out:
                    n_unanswerable += 1
                    sums["abstain_ok"] += abstains
                else:
                    n_answerable += 1
                    sums["abstain_bad"] += abstains
                    ranked_docs = list(dict.fromkeys(h.chunk.chunk.doc_id for h in result.hits))
                    sums["r1"] += q.doc_id in ranked_docs[:1]
                    sums["r5"] += q.doc_id in ranked_docs[:5]
                    answer = chosen[0].text if chosen else ""
                    sums["em"] += exact_match(answer, q.answers)
                    sums["f1"] += f1(answer, q.answers)
                    baseline = _first_sentence(result.hits[0].chunk.chunk.text) if result.hits else ""
                    sums["base_em"] += exact_match(baseline, q.answers)
                    sums["base_f1"] += f1(baseline, q.answers)
                if on_query is not None:
                    on_query(i + 1, len(questions))
        finally:
            rw.close()
    a = max(n_answerable, 1)
    u = max(n_unanswerable, 1)
    data: dict[str, Any] = {
        "dataset": squad.name,
        "questions": {"answerable": n_answerable, "unanswerable": n_unanswerable},
        "paragraphs": {"indexed": len(indexed), "held_out": len(held_out)},
        "retrieval": {"recall@1": round(sums["r1"] / a, 4), "recall@5": round(sums["r5"] / a, 4)},
        "extractive": {"em": round(100 * sums["em"] / a, 2), "f1": round(100 * sums["f1"] / a, 2)},
        "baseline_first_sentence": {
            "em": round(100 * sums["base_em"] / a, 2),
            "f1": round(100 * sums["base_f1"] / a, 2),
        },
        "abstention": {
            "threshold": round(threshold, 6),
            "abstained_on_unanswerable": round(sums["abstain_ok"] / u, 4),
            "abstained_on_answerable": round(sums["abstain_bad"] / a, 4),
        },
        "latency_ms": percentiles_ms(latencies),
        "store": store_kind(settings),
        "config": {"embedder": rw.embedder.name, "evidence_k": settings.answer.evidence_k},
    }
    write_json(out, data)
    return data


def _first_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[0][0] : spans[0][1]] if spans else text
