"""Ranking metrics that reproduce pytrec_eval (trec_eval 9.x) exactly, with no dependency beyond the stdlib.

Inputs follow the pytrec_eval convention:

* ``run``: ``qid -> docid -> score`` (higher is better).
* ``qrels``: ``qid -> docid -> relevance grade`` (int; ``>= 1`` is relevant, ``<= 0`` is judged non-relevant).

Behaviour copied from trec_eval, verified against pytrec_eval-terrier 0.5.x:

* **Ranking and ties.** Documents are ordered by score descending; ties are broken by document id *descending*
  (trec_eval's ``comp_sim_docno`` returns ``strcmp(docno2, docno1)``). Python string order equals UTF-8 byte order.
* **Which queries are scored.** Only queries present in *both* ``run`` and ``qrels``. A query in ``run`` with an empty
  dict is scored (every metric 0); a query missing from ``run`` is omitted, as is a query missing from ``qrels``.
  Pass ``missing_as_zero=True`` to the ``mean_*`` functions to count qrels queries absent from the run as 0
  (trec_eval ``-c``), which is usually what an evaluation harness wants.
* **nDCG@k** (``ndcg_cut_k``): gain = relevance grade (negative grades count as 0), discount ``1 / log2(rank + 1)``
  with 1-based ranks; the ideal DCG uses the positive grades in ``qrels`` sorted descending, cut at ``k``. 0 when
  the query has no positive judgement.
* **Recall@k** (``recall_k``): relevant retrieved in the top ``k`` / number of relevant (grade ``>= 1``) in qrels.
* **Precision@k** (``P_k``): relevant retrieved in the top ``k`` / ``k`` (the divisor is ``k`` even if fewer
  documents were retrieved).
* **Hit@k** (``success_k``): 1 if any relevant document is in the top ``k``.
* **MRR@k**: ``recip_rank`` of the run truncated to its top ``k`` (1 / rank of the first relevant document, else 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

RELEVANCE_LEVEL = 1
"""Minimum grade counted as relevant (trec_eval ``-l`` default)."""


def rank_docs(scores: Mapping[str, float]) -> list[str]:
    """Return document ids in trec_eval order: score descending, then document id descending."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def _check_k(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")


def _ndcg(ranked: list[str], judged: Mapping[str, int], k: int) -> float:
    ideal_gains = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    if idcg <= 0.0:
        return 0.0
    dcg = 0.0
    for i, doc in enumerate(ranked[:k]):
        gain = judged.get(doc, 0)
        if gain > 0:
            dcg += gain / math.log2(i + 2)
    return dcg / idcg


def _n_relevant(judged: Mapping[str, int]) -> int:
    return sum(1 for g in judged.values() if g >= RELEVANCE_LEVEL)


def _hits(ranked: list[str], judged: Mapping[str, int], k: int) -> int:
    return sum(1 for doc in ranked[:k] if judged.get(doc, 0) >= RELEVANCE_LEVEL)


def _recall(ranked: list[str], judged: Mapping[str, int], k: int) -> float:
    n_rel = _n_relevant(judged)
    return _hits(ranked, judged, k) / n_rel if n_rel else 0.0


def _precision(ranked: list[str], judged: Mapping[str, int], k: int) -> float:
    return _hits(ranked, judged, k) / k


def _hit(ranked: list[str], judged: Mapping[str, int], k: int) -> float:
    return 1.0 if _hits(ranked, judged, k) > 0 else 0.0


def _mrr(ranked: list[str], judged: Mapping[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if judged.get(doc, 0) >= RELEVANCE_LEVEL:
            return 1.0 / (i + 1)
    return 0.0


_Metric = Callable[[list[str], Mapping[str, int], int], float]


def _per_query(metric: _Metric, run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    _check_k(k)
    return {qid: metric(rank_docs(run[qid]), qrels[qid], k) for qid in run if qid in qrels}


def _mean(per_query: dict[str, float], qrels: Qrels, missing_as_zero: bool) -> float:
    n = len(qrels) if missing_as_zero else len(per_query)
    return sum(per_query.values()) / n if n else 0.0


def ndcg_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query graded nDCG@k (pytrec_eval ``ndcg_cut_k``)."""
    return _per_query(_ndcg, run, qrels, k)


def recall_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query Recall@k (pytrec_eval ``recall_k``)."""
    return _per_query(_recall, run, qrels, k)


def precision_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query Precision@k (pytrec_eval ``P_k``)."""
    return _per_query(_precision, run, qrels, k)


def hit_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query Hit@k, 1.0 if a relevant document is in the top k (pytrec_eval ``success_k``)."""
    return _per_query(_hit, run, qrels, k)


def mrr_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query reciprocal rank of the first relevant document within the top k, else 0."""
    return _per_query(_mrr, run, qrels, k)


def mean_ndcg_at_k(run: Run, qrels: Qrels, k: int, *, missing_as_zero: bool = False) -> float:
    """Mean nDCG@k over scored queries (see module docstring for ``missing_as_zero``)."""
    return _mean(ndcg_at_k(run, qrels, k), qrels, missing_as_zero)


def mean_recall_at_k(run: Run, qrels: Qrels, k: int, *, missing_as_zero: bool = False) -> float:
    """Mean Recall@k over scored queries."""
    return _mean(recall_at_k(run, qrels, k), qrels, missing_as_zero)


def mean_precision_at_k(run: Run, qrels: Qrels, k: int, *, missing_as_zero: bool = False) -> float:
    """Mean Precision@k over scored queries."""
    return _mean(precision_at_k(run, qrels, k), qrels, missing_as_zero)


def mean_hit_at_k(run: Run, qrels: Qrels, k: int, *, missing_as_zero: bool = False) -> float:
    """Mean Hit@k over scored queries."""
    return _mean(hit_at_k(run, qrels, k), qrels, missing_as_zero)


def mean_mrr_at_k(run: Run, qrels: Qrels, k: int, *, missing_as_zero: bool = False) -> float:
    """MRR@k over scored queries."""
    return _mean(mrr_at_k(run, qrels, k), qrels, missing_as_zero)


def evaluate(run: Run, qrels: Qrels, ks: tuple[int, ...] = (1, 10, 100)) -> dict[str, float]:
    """Mean of every metric at every cutoff, keyed like ``"ndcg@10"``; queries absent from the run count as 0."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"ndcg@{k}"] = mean_ndcg_at_k(run, qrels, k, missing_as_zero=True)
        out[f"recall@{k}"] = mean_recall_at_k(run, qrels, k, missing_as_zero=True)
        out[f"precision@{k}"] = mean_precision_at_k(run, qrels, k, missing_as_zero=True)
        out[f"hit@{k}"] = mean_hit_at_k(run, qrels, k, missing_as_zero=True)
        out[f"mrr@{k}"] = mean_mrr_at_k(run, qrels, k, missing_as_zero=True)
    return out
