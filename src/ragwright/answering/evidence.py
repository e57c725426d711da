"""Evidence sentences: the retrieved passages cut into sentences and scored against the question.

A sentence's support combines two signals, each in [0, 1]:
- ``coverage``: the share of the question's terms (weighted by how rare they are among the evidence sentences) that
  the sentence, or its passage's context (title and headings), contains;
- ``similarity``: cosine similarity of the sentence and question embeddings (clipped at 0).
Both are needed: coverage alone rewards sentences that repeat the question's words without answering it, similarity
alone accepts fluent near-misses. The answerer abstains when the best support is under the configured threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ragwright.answering.sentences import split_sentences
from ragwright.answering.types import Citation
from ragwright.models.base import Embedder
from ragwright.retrieval.analysis import analyze, query_terms
from ragwright.retrieval.retriever import Hit

SIMILARITY_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class EvidenceSentence:
    """A sentence of a retrieved chunk, with its span and how well it covers and matches the question."""

    hit: Hit
    start: int
    """Offset within the chunk text."""
    end: int
    text: str
    coverage: float
    similarity: float
    matched: tuple[str, ...] = ()
    """Question terms found in the sentence itself."""

    @property
    def support(self) -> float:
        return (1.0 - SIMILARITY_WEIGHT) * self.coverage + SIMILARITY_WEIGHT * self.similarity

    def citation(self, n: int) -> Citation:
        chunk = self.hit.chunk.chunk
        return Citation(
            n=n,
            doc_path=self.hit.chunk.doc_path,
            chunk_id=chunk.id,
            char_start=chunk.char_start + self.start,
            char_end=chunk.char_start + self.end,
            snippet=self.text,
            heading_path=chunk.heading_path,
            page=chunk.page,
            title=self.hit.chunk.doc_title,
        )


def score_sentences(question: str, hits: list[Hit], embedder: Embedder | None) -> list[EvidenceSentence]:
    """Every sentence of every hit, scored; in hit order, then sentence order."""
    pieces: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        text = hit.chunk.chunk.text
        pieces.extend((hit, s, e, text[s:e]) for s, e in split_sentences(text))
    if not pieces:
        return []
    q_terms = query_terms(question)
    sent_terms = [set(analyze(p[3])) for p in pieces]
    context_terms = {id(h): set(analyze(h.chunk.chunk.context)) for h in hits}
    n = len(pieces)
    weight = {t: math.log(1.0 + n / (1.0 + sum(t in s for s in sent_terms))) for t in q_terms}
    total = sum(weight.values()) or 1.0
    coverage = [
        sum(w for t, w in weight.items() if t in terms or t in context_terms[id(piece[0])]) / total
        for piece, terms in zip(pieces, sent_terms, strict=True)
    ]
    if embedder is not None:
        vectors = embedder.embed([p[3] for p in pieces])
        qvec = embedder.embed_query(question)
        similarity = np.clip(vectors @ qvec, 0.0, 1.0).tolist()
    else:
        similarity = [0.0] * n
    return [
        EvidenceSentence(
            hit=p[0],
            start=p[1],
            end=p[2],
            text=p[3],
            coverage=c,
            similarity=float(s),
            matched=tuple(t for t in q_terms if t in terms),
        )
        for p, c, s, terms in zip(pieces, coverage, similarity, sent_terms, strict=True)
    ]
