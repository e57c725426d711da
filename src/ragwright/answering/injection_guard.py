"""What may answer a question: the passages and sentences the answerers are allowed to use.

Three rules, applied to every answer, extractive or generated:

1. **Flagged passages never answer.** A passage the ingest flagger marked (:mod:`.injection`) is left out of the
   evidence and out of the model's prompt; it is still searchable and shown with its flag.
2. **Keyword-stuffed passages never answer.** A passage with a sentence that repeats the question's own terms (several
   of them more than once, making up a large share of the sentence) was written to rank first for such questions,
   not to inform: it is left out for this question.
3. **An answer sentence must answer.** A sentence that is itself a question, or that adds no term beyond the
   question's, answers nothing; and a generated sentence must be supported by evidence that is relevant to the
   question (at least :data:`RELEVANT_RATIO` of the best support), so a model that obeys an injected "the password
   is 1234" finds nothing relevant to support it and the sentence is dropped.

Rule 3 is what holds when an injection is worded so that no flagger pattern matches: such a passage does not answer
the question, so none of its sentences is relevant enough to be quoted or to support a generated one.

Example::

    screened = screen(question, result.hits)       # screened.hits: usable; screened.excluded: (hit, reason)
    scored = answerable(question, score_sentences(question, screened.hits, embedder))
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from ragwright.answering.evidence import EvidenceSentence
from ragwright.answering.generative import is_abstention
from ragwright.answering.sentences import split_sentences
from ragwright.retrieval.analysis import analyze, query_terms
from ragwright.retrieval.retriever import Hit

__all__ = ["RELEVANT_RATIO", "Exclusion", "Screened", "answerable", "relevant", "screen", "strip_echoes", "stuffed"]

RELEVANT_RATIO = 0.75
"""A sentence supports a generated one only if its own support is at least this share of the best sentence's."""
ECHO_OVERLAP = 0.5
"""A generated sentence echoes a non-answering sentence when at least this share of its terms comes from it..."""
STUFFED_REPEATS = 2
"""Repeated question-term occurrences in one sentence at which it counts as keyword stuffing..."""
STUFFED_SHARE = 0.4
"""...when question terms also make up at least this share of the sentence's terms."""


class Exclusion(StrEnum):
    """Why a retrieved passage was not used to answer."""

    FLAGGED = "flagged"
    STUFFED = "stuffed"


@dataclass(slots=True)
class Screened:
    """Retrieved passages split into those that may answer and those left out (with the reason)."""

    hits: list[Hit]
    excluded: list[tuple[Hit, Exclusion]] = field(default_factory=list)


def stuffed(question_terms: set[str], text: str) -> bool:
    """Whether a sentence of ``text`` repeats the question's terms like a keyword list rather than a sentence."""
    if not question_terms:
        return False
    # Lines too: PDF text and keyword blocks often carry no sentence punctuation.
    segments = [line for s, e in split_sentences(text) for line in text[s:e].splitlines()]
    for segment in segments:
        counts = Counter(analyze(segment))
        total = sum(counts.values())
        in_question = sum(c for t, c in counts.items() if t in question_terms)
        repeats = sum(c - 1 for t, c in counts.items() if t in question_terms and c > 1)
        if total and repeats >= STUFFED_REPEATS and in_question / total >= STUFFED_SHARE:
            return True
    return False


def screen(question: str, hits: list[Hit]) -> Screened:
    """Rules 1 and 2: the hits that may answer ``question``, and those left out."""
    terms = set(query_terms(question))
    out = Screened(hits=[])
    for hit in hits:
        if hit.chunk.injection is not None:
            out.excluded.append((hit, Exclusion.FLAGGED))
        elif stuffed(terms, hit.chunk.chunk.text):
            out.excluded.append((hit, Exclusion.STUFFED))
        else:
            out.hits.append(hit)
    return out


def answerable(question: str, scored: list[EvidenceSentence]) -> list[EvidenceSentence]:
    """Rule 3 for quoted sentences: drop questions and sentences that only repeat the question's terms."""
    terms = set(query_terms(question))
    return [s for s in scored if not s.text.rstrip().endswith("?") and set(analyze(s.text)) - terms]


def strip_echoes(generated: str, relevant_evidence: list[EvidenceSentence], hits: list[Hit]) -> tuple[str, list[str]]:
    """Rule 3, second half: drop generated sentences that repeat a sentence which may not answer the question.

    A model that obeys an injection repeats the injected text. Such a sentence's words come from a passage that was
    left out or from a sentence irrelevant to the question, more than from any relevant sentence: it is dropped
    before the citation check, whatever similarity it has to the relevant evidence. Returns (kept text, dropped).
    """
    allowed = {e.text for e in relevant_evidence}
    allowed_terms = [set(query_terms(t)) for t in allowed]
    other_terms = [
        set(query_terms(text[s:e]))
        for hit in hits
        for text in (hit.chunk.chunk.text,)
        for s, e in split_sentences(text)
        if text[s:e] not in allowed
    ]
    kept: list[str] = []
    dropped: list[str] = []
    for s, e in split_sentences(generated):
        sentence = generated[s:e]
        terms = set(query_terms(sentence))
        if not terms or is_abstention(sentence):
            kept.append(sentence)
            continue
        inside = max((len(terms & t) / len(terms) for t in allowed_terms), default=0.0)
        outside = max((len(terms & t) / len(terms) for t in other_terms), default=0.0)
        (dropped if outside >= ECHO_OVERLAP and outside > inside else kept).append(sentence)
    return " ".join(kept), dropped


def relevant(scored: list[EvidenceSentence]) -> list[EvidenceSentence]:
    """Rule 3 for generated sentences: the evidence that may support them (relevant to the question)."""
    best = max((s.support for s in scored), default=0.0)
    return [s for s in scored if s.support >= RELEVANT_RATIO * best]
