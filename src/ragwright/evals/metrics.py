"""Metrics that need no model: retrieval ranking, SQuAD EM/F1, citation coverage, abstention.

Retrieval metrics rank documents by their best passage in ``Answer.retrieved`` and are computed by
:mod:`ragwright.evals.ir_metrics` (pytrec_eval-faithful), one query at a time.

Example::

    score = await RetrievalMetric("ndcg", 10).evaluate(case, answer)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ragwright.answering.sentences import split_sentences
from ragwright.answering.types import Answer
from ragwright.bench.squad import exact_match, f1, normalize_answer
from ragwright.evals import ir_metrics
from ragwright.evals.dataset import Case, doc_key
from ragwright.evals.scores import Metric, Score

__all__ = [
    "AbstentionAccuracy",
    "AnswerContainment",
    "AnswerTokens",
    "CitationCoverage",
    "ExactMatch",
    "TokenF1",
    "RetrievalMetric",
    "answer_sentences",
    "offline_metrics",
    "ranked_docs",
    "strip_markers",
]

_MARKER = re.compile(r"\s*\[\d+\]")

_IR: dict[str, Callable[[ir_metrics.Run, ir_metrics.Qrels, int], dict[str, float]]] = {
    "hit": ir_metrics.hit_at_k,
    "recall": ir_metrics.recall_at_k,
    "precision": ir_metrics.precision_at_k,
    "mrr": ir_metrics.mrr_at_k,
    "ndcg": ir_metrics.ndcg_at_k,
}


def ranked_docs(answer: Answer) -> list[str]:
    """Document ids in the order retrieval returned their best passage."""
    return list(dict.fromkeys(doc_key(r.doc_path) for r in answer.retrieved))


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


_TRAILING = re.compile(r"([.!?])((?:\s*\[\d+\])+)")


def answer_sentences(text: str) -> list[str]:
    """The answer's sentences, each with the ``[n]`` markers that follow it (``"A. [1] B. [2]"`` gives
    ``["A [1].", "B [2]."]``: a marker written after the full stop still belongs to its sentence)."""
    text = _TRAILING.sub(r"\2\1", text)
    return [text[s:e] for s, e in split_sentences(text)]


@dataclass
class RetrievalMetric:
    """``kind``@``k`` over the documents behind ``Answer.retrieved``; applies to cases with ``relevant``."""

    kind: str
    k: int
    needs_judge: bool = False

    @property
    def name(self) -> str:
        return f"{self.kind}@{self.k}"

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if not case.relevant:
            return None
        docs = ranked_docs(answer)
        # Scores that keep retrieval's order exactly (trec_eval would otherwise re-sort ties by id).
        run: Mapping[str, Mapping[str, float]] = {case.id: {d: float(len(docs) - i) for i, d in enumerate(docs)}}
        value = _IR[self.kind](run, {case.id: case.relevant}, self.k)[case.id]
        return Score.of(value)


@dataclass
class ExactMatch:
    """SQuAD-normalised exact match of the answer (citation markers removed) against any reference."""

    name: str = "em"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if not case.answerable or not case.references:
            return None
        return Score.of(exact_match(strip_markers(answer.text) if not answer.abstained else "", case.references))


@dataclass
class TokenF1:
    """SQuAD token F1 of the answer against the best-matching reference; an abstention scores 0."""

    name: str = "f1"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if not case.answerable or not case.references:
            return None
        return Score.of(f1(strip_markers(answer.text) if not answer.abstained else "", case.references))


@dataclass
class AnswerContainment:
    """1 when a SQuAD-normalised reference answer is contained in the (normalised) answer, else 0; the reason gives
    the answer's length in tokens. Fair to extractive answers, which quote whole sentences that F1 against a short
    span punishes; read it with the length, since a long enough answer contains anything."""

    name: str = "containment"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if not case.answerable or not case.references:
            return None
        text = normalize_answer(strip_markers(answer.text)) if not answer.abstained else ""
        tokens = len(text.split())
        hit = any(ref and f" {ref} " in f" {text} " for ref in (normalize_answer(r) for r in case.references))
        return Score.of(1.0 if hit else 0.0, reason=f"answer {tokens} tokens")


@dataclass
class AnswerTokens:
    """The answer's length in SQuAD-normalised tokens (0 when abstaining): the companion of ``containment``."""

    name: str = "answer_tokens"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if not case.answerable or not case.references:
            return None
        return Score.of(float(len(normalize_answer(strip_markers(answer.text)).split()) if not answer.abstained else 0))


@dataclass
class CitationCoverage:
    """Share of the answer's sentences that carry at least one ``[n]`` citation (citation recall, no judge)."""

    name: str = "citation_coverage"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if answer.abstained or not answer.text.strip():
            return None
        sentences = answer_sentences(answer.text)
        if not sentences:
            return None
        cited = sum(1 for s in sentences if _MARKER.search(s))
        return Score.of(cited / len(sentences), reason=f"{cited} of {len(sentences)} sentences cite a passage")


@dataclass
class AbstentionAccuracy:
    """1 when ragwright abstained exactly on an unanswerable question (or answered an answerable one), else 0."""

    name: str = "abstention_accuracy"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        right = answer.abstained != case.answerable
        if case.answerable:
            why = "answered" if right else "abstained on an answerable question"
        else:
            why = "abstained" if right else "answered a question the corpus cannot answer"
        return Score.of(1.0 if right else 0.0, reason=why)


def offline_metrics(ks: tuple[int, ...] = (1, 5, 10)) -> list[Metric]:
    """Every metric that runs with no model and no API key."""
    out: list[Metric] = [RetrievalMetric(kind, k) for k in ks for kind in ("hit", "recall", "mrr", "ndcg")]
    out += [RetrievalMetric("precision", k) for k in ks]
    out += [ExactMatch(), TokenF1(), AnswerContainment(), AnswerTokens(), CitationCoverage(), AbstentionAccuracy()]
    return out
