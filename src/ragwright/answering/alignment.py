"""Late-interaction alignment: does every specific term of the question have a counterpart in the evidence?

The lexical answerability features see whether a passage is *on topic*; the case they miss is the related passage
that lacks what the question is specifically about (the gold paragraph removed, its neighbours kept). Here the
embedding model's **token** vectors (its last hidden state before pooling, ColBERT/BERTScore style) are compared: for
each content word of the question, its best cosine to any token of a passage. A word that is there, or said
otherwise ("came" for "come", "1981" for "year"), scores high; a word with no counterpart scores low. Words are
weighted by their IDF in this corpus, so the question's rare, specific terms count most.

Cost: one encoder pass over the question and over at most :data:`ALIGN_PASSAGES` passages (the passages of the
best-supported evidence sentences), cached by text, so a passage asked about again costs nothing.

Example::

    aligner = Aligner(embedder)          # an embedder with embed_tokens (OnnxEmbedder)
    feats = aligner.features(question, scored, idf)
    feats.align_low_share                # IDF-weighted share of question words with no counterpart
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ragwright.answering.evidence import EvidenceSentence
from ragwright.answering.features import FORM_WORDS, AnswerType, answer_type, has_answer_type
from ragwright.answering.sentences import split_sentences
from ragwright.models.base import TokenEmbedder, TokenVectors
from ragwright.retrieval.analysis import analyze

__all__ = ["ALIGN_PASSAGES", "LOW_MATCH", "Aligner", "Alignment", "QuestionWord", "question_words", "word_scores"]

ALIGN_PASSAGES = 3
"""Distinct passages aligned per question: those of the best-supported evidence sentences."""
LOW_MATCH = 0.6
"""A question word whose best token cosine in a passage is under this has no counterpart there. (MiniLM's last
layer: the same word in another sentence scores 0.85-0.95, an inflection or close synonym 0.7-0.8, an unrelated
content word 0.3-0.5.)"""
_CACHE_SIZE = 1024
_WORD = re.compile(r"[\w'’-]+")


@dataclass(frozen=True, slots=True)
class Alignment:
    """Alignment features of one question against its evidence passages (all in [0, 1] except the gap)."""

    align_mean: float
    """IDF-weighted mean, over the question's content words, of each word's best cosine in the passage; the best
    passage's (max over the aligned passages)."""
    align_gap: float
    """``align_mean`` of that passage minus the best of the passages from other documents (itself when none)."""
    align_rare_min: float
    """The lowest best-cosine among the question's rarer half of content words (by IDF), in the best passage: the
    worst-aligned specific term."""
    align_low_share: float
    """IDF-weighted share of the question's content words with no counterpart (best cosine < ``LOW_MATCH``) in the
    best passage."""
    align_sentence: float
    """``align_mean`` of the best single sentence (with its passage's title and headings): the question's terms
    together in one place, as an answering sentence holds them."""
    align_sentence_rare_min: float
    """``align_rare_min`` of that sentence."""
    aligned_type_missing: float
    """1 when the question asks for a number, date, person or place that the best-aligned sentence does not hold."""

    @classmethod
    def empty(cls) -> Alignment:
        """No evidence, or a question without content words: nothing aligns."""
        return cls(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class QuestionWord:
    """A content word of the question, its IDF weight and the rows of its word pieces in the question's tokens."""

    word: str
    weight: float
    rows: tuple[int, ...]


def question_words(question: str, tokens: TokenVectors, idf: dict[str, float]) -> list[QuestionWord]:
    """The question's content words (not stopwords, not words of the question's form such as "how *many*"), each
    with the token rows that fall inside it; a word absent from ``idf`` weighs as the rarest known term."""
    form = set(FORM_WORDS)
    fallback = max(idf.values(), default=1.0)
    out: list[QuestionWord] = []
    seen: set[str] = set()
    for m in _WORD.finditer(question):
        terms = analyze(m.group(0))
        if not terms or m.group(0).lower() in form or terms[0] in seen:
            continue
        rows = tuple(
            int(i) for i in np.flatnonzero((tokens.offsets[:, 0] >= m.start()) & (tokens.offsets[:, 1] <= m.end()))
        )
        if rows:
            seen.add(terms[0])
            out.append(QuestionWord(m.group(0), idf.get(terms[0], fallback), rows))
    return out


def word_scores(
    words: Sequence[QuestionWord], sim: npt.NDArray[np.float32], columns: npt.NDArray[np.int64]
) -> np.ndarray:
    """Each word's best cosine among the passage token ``columns`` of ``sim`` (question tokens × passage tokens),
    averaged over the word's pieces."""
    if columns.size == 0:
        return np.zeros(len(words))
    best = sim[:, columns].max(axis=1)
    return np.array([float(best[list(w.rows)].mean()) for w in words])


def _summaries(words: Sequence[QuestionWord], scores: np.ndarray) -> tuple[float, float, float]:
    """(IDF-weighted mean, worst score of the rarer half, IDF-weighted share under ``LOW_MATCH``)."""
    weights = np.array([w.weight for w in words])
    total = float(weights.sum())
    if total <= 0:
        weights, total = np.ones(len(words)), float(len(words))
    rare = weights >= np.median(weights)
    return (
        float(weights @ scores) / total,
        float(scores[rare].min()),
        float(weights[scores < LOW_MATCH].sum()) / total,
    )


class Aligner:
    """Computes :class:`Alignment` with a token embedder; passage token vectors are cached by text (LRU)."""

    def __init__(self, encoder: TokenEmbedder, cache_size: int = _CACHE_SIZE) -> None:
        self.encoder = encoder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, TokenVectors] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, texts: list[str]) -> list[TokenVectors]:
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        fresh = dict(zip(todo, self.encoder.embed_tokens(todo), strict=True)) if todo else {}
        with self._lock:
            for text, vectors in fresh.items():
                self._cache[text] = vectors
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
            return [fresh[t] if t in fresh else self._cache[t] for t in texts]

    def features(self, question: str, scored: Sequence[EvidenceSentence], idf: dict[str, float]) -> Alignment:
        """The alignment of ``question`` with the passages of its best-supported evidence sentences."""
        ranked = sorted(scored, key=lambda s: (-s.support, s.hit.rank, s.start))
        passages = list({id(s.hit): s.hit for s in ranked}.values())[:ALIGN_PASSAGES]
        if not passages:
            return Alignment.empty()
        texts = [_passage_text(h.chunk.chunk.context, h.chunk.chunk.text) for h in passages]
        q_tokens, *p_tokens = self._tokens([question, *texts])
        words = question_words(question, q_tokens, idf)
        if not words:
            return Alignment.empty()
        kind = answer_type(question)
        q_words = {w.lower() for w in _WORD.findall(question)}
        per_passage: list[tuple[float, float, float]] = []
        best_sentence: tuple[float, float, str] = (-1.0, 0.0, "")
        for hit, text, tokens in zip(passages, texts, p_tokens, strict=True):
            sim = q_tokens.vectors @ tokens.vectors.T
            per_passage.append(_summaries(words, word_scores(words, sim, np.arange(tokens.offsets.shape[0]))))
            head = len(text) - len(hit.chunk.chunk.text)
            context = tokens.offsets[:, 1] <= head
            for start, end in split_sentences(hit.chunk.chunk.text):
                inside = (tokens.offsets[:, 0] >= head + start) & (tokens.offsets[:, 1] <= head + end)
                mean, rare_min, _ = _summaries(words, word_scores(words, sim, np.flatnonzero(inside | context)))
                if mean > best_sentence[0]:
                    best_sentence = (mean, rare_min, hit.chunk.chunk.text[start:end])
        top = int(np.argmax([p[0] for p in per_passage]))
        doc = passages[top].chunk.doc_path
        others = [p[0] for h, p in zip(passages, per_passage, strict=True) if h.chunk.doc_path != doc]
        mean, rare_min, low = per_passage[top]
        missing = kind != AnswerType.NONE and not has_answer_type(kind, best_sentence[2], q_words)
        return Alignment(
            align_mean=mean,
            align_gap=mean - max(others, default=0.0),
            align_rare_min=rare_min,
            align_low_share=low,
            align_sentence=max(best_sentence[0], 0.0),
            align_sentence_rare_min=best_sentence[1],
            aligned_type_missing=1.0 if missing else 0.0,
        )


def _passage_text(context: str, text: str) -> str:
    """What is encoded for a passage: its title and headings, then its text (the question may name the title)."""
    return f"{context}\n{text}" if context.strip() else text
