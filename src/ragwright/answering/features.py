"""Features of a retrieval and its evidence that tell whether the documents hold the answer (see ``answerability``).

Each is a number computed from what the ask pipeline already has: the hits with their BM25 and dense scores, the
scored evidence sentences, and the store's BM25 statistics (how rare each question term is in this corpus). They are
chosen to carry over between corpora: scores are normalised (BM25 by the best score the question's terms could get,
similarities are cosines), coverages are shares, and the rest are indicators.

Example::

    feats = extract_features(question, hits, scored, store.term_idf(tenant, query_terms(question)), k1=0.9)
    feats.vector()          # in FEATURE_NAMES order, for the model
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ragwright.answering.evidence import EvidenceSentence
from ragwright.retrieval.analysis import analyze, query_terms
from ragwright.retrieval.retriever import Hit

if TYPE_CHECKING:
    from ragwright.answering.alignment import Alignment

__all__ = [
    "ALIGNMENT_NAMES",
    "FEATURE_NAMES",
    "FORM_WORDS",
    "AnswerType",
    "AnswerabilityFeatures",
    "answer_type",
    "extract_features",
    "has_answer_type",
    "name_phrases",
]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred hundreds "
    "thousand thousands million millions billion billions dozen half"
).split()
_MONTHS = (
    "january february march april may june july august september october november december century centuries decade"
).split()
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
_WORD = re.compile(r"[\w'’-]+")
# Words of a question's form, not its content ("how *many*", "what *kind* of"): left out of the rarity features,
# where a corpus that never says "many" would otherwise look like it lacks the question's rarest term.
FORM_WORDS = "many much long old far often kind type sort name call called mean means".split()
_ARTICLES = {"the", "a", "an"}
_PAIR_REACH = 3
"""Two question terms count as found together when a passage holds them at most this many analysed terms apart."""
_WH = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were", "do", "does"}


class AnswerType:
    """What kind of answer a question asks for (from its wording); ``NONE`` when it does not say."""

    NONE = "none"
    NUMBER = "number"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"


_TYPE_CUES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(what|which) (year|date|century|decade|month|day)\b|\bwhen\b", re.I), AnswerType.DATE),
    (
        re.compile(r"\bhow (many|much|long|old|far|large|big|high|tall|often)\b|\bwhat (number|percentage)\b", re.I),
        AnswerType.NUMBER,
    ),
    (re.compile(r"\b(who|whom|whose)\b", re.I), AnswerType.PERSON),
    (re.compile(r"\bwhere\b", re.I), AnswerType.PLACE),
)


def answer_type(question: str) -> str:
    for pattern, kind in _TYPE_CUES:
        if pattern.search(question):
            return kind
    return AnswerType.NONE


def has_answer_type(kind: str, text: str, question_words: set[str]) -> bool:
    """Whether ``text`` holds something of the asked-for kind that the question does not already say."""
    words = [w.lower() for w in _WORD.findall(text)]
    if kind == AnswerType.NUMBER:
        return bool(_NUMBER.search(text)) or any(w in _NUMBER_WORDS for w in words)
    if kind == AnswerType.DATE:
        return bool(_YEAR.search(text)) or any(w in _MONTHS for w in words)
    if kind in (AnswerType.PERSON, AnswerType.PLACE):
        names = [m.group(0).lower() for m in _CAPITALISED.finditer(text) if m.start() > 0]
        return any(n not in question_words for n in names)
    return True


def name_phrases(question: str) -> list[str]:
    """Runs of two or more capitalised words after the question's first word ("British Nationality Act", "Islamic
    State"), lower-cased: names the documents must hold whole, not word by word."""
    runs: list[list[str]] = [[]]
    for m in _WORD.finditer(question):
        word = m.group(0)
        if m.start() > 0 and word[:1].isupper() and word.lower() not in _WH:
            if runs[-1] or word.lower() not in _ARTICLES:
                runs[-1].append(word.lower())
        elif runs[-1]:
            runs.append([])
    return list(dict.fromkeys(" ".join(r) for r in runs if len(r) > 1))


def _pairs(terms: list[str], reach: int) -> set[frozenset[str]]:
    """Unordered pairs of distinct analysed terms at most ``reach`` positions apart: a passage's phrases, loosely
    ("chloroplast membranes" and "membranes of chloroplasts" give the same pair)."""
    return {frozenset((a, b)) for i, a in enumerate(terms) for b in terms[i + 1 : i + 1 + reach] if a != b}


def _entities(question: str) -> list[str]:
    """Name-like tokens of the question: capitalised words after the first, and tokens with digits."""
    out = [m.group(0).lower() for m in _CAPITALISED.finditer(question) if m.start() > 0]
    out += [w.lower() for w in _WORD.findall(question) if any(c.isdigit() for c in w)]
    return [w for w in dict.fromkeys(out) if w not in _WH]


@dataclass(frozen=True, slots=True)
class AnswerabilityFeatures:
    """The typed feature record the answerability model reads; ``generator_declined`` is filled after generation."""

    support_best: float
    """Best evidence-sentence support (0.5 · coverage + 0.5 · similarity)."""
    support_margin: float
    """Best support minus the best support of a sentence from another document."""
    similarity_best: float
    coverage_best: float
    """Question-term coverage of the best-supported sentence."""
    bm25_top: float
    """Best BM25 score among the hits, over the score all the question's terms could reach (Σ idf · (k1 + 1))."""
    bm25_gap: float
    """(first − second) BM25 score among the hits, same normalisation."""
    dense_top: float
    dense_gap: float
    rare_coverage: float
    """IDF-weighted share of the question's terms found in the best evidence passage (text, title and headings)."""
    rare_coverage_gap: float
    """``rare_coverage`` of the best passage minus the best of the passages from other documents: whether one
    document stands out, rather than several related ones covering the question equally (or equally poorly)."""
    sentence_rare_coverage: float
    """IDF-weighted share of the question's terms in the best-supported sentence (with its passage's title and
    headings)."""
    rarest_found: float
    """1 when the question's rarest term (highest IDF in this corpus) is in the best passage."""
    missing_rare: float
    """Largest IDF of a question term found in no evidence passage, over the IDF of the question's rarest term
    (1: the rarest term is nowhere in the evidence; 0: every term is somewhere)."""
    numbers_missing: float
    """Share of the question's numbers absent from the evidence passages (0 when it has none)."""
    entities_missing: float
    """Share of the question's name-like tokens absent from the best passage (0 when it has none)."""
    type_mismatch: float
    """1 when the question asks for a number, date, person or place the best sentences do not hold."""
    phrase_coverage: float
    """IDF-weighted share of the question's adjacent term pairs ("nationality act") that the best passage holds
    close together: neighbours of an absent document share its words, less often its phrases. Equal to
    ``rare_coverage`` for a question of one term."""
    sentence_phrase_coverage: float
    """The largest ``phrase_coverage`` of one evidence sentence (with its passage's title and headings)."""
    names_missing: float
    """Share of the question's multi-word names ("British Nationality Act") the best passage does not hold whole
    (0 when it has none)."""
    sentence_entities_missing: float
    """Share of the question's name-like tokens absent from the best-supported sentence and its passage's title
    and headings (0 when it has none)."""
    dense_standout: float
    """Best dense score minus the mean of the other hits': one passage stands out rather than several alike."""
    bm25_standout: float
    """The same for BM25, normalised as ``bm25_top``."""
    align_mean: float | None = None
    """Late-interaction alignment (:mod:`ragwright.answering.alignment`; None when not computed): IDF-weighted mean
    of the question words' best token cosine in the best passage."""
    align_gap: float | None = None
    align_rare_min: float | None = None
    align_low_share: float | None = None
    align_sentence: float | None = None
    align_sentence_rare_min: float | None = None
    aligned_type_missing: float | None = None
    generator_declined: bool | None = None
    """The generator replied NOT IN DOCUMENTS (None: no generator ran)."""

    def vector(self) -> npt.NDArray[np.float64]:
        """The numeric features in :data:`FEATURE_NAMES` order (NaN for a feature not computed)."""
        return np.array([_number(getattr(self, n)) for n in FEATURE_NAMES], dtype=np.float64)

    def with_generator(self, declined: bool) -> AnswerabilityFeatures:
        return replace(self, generator_declined=declined)

    def with_alignment(self, alignment: Alignment) -> AnswerabilityFeatures:
        return replace(self, **asdict(alignment))


def _number(value: float | bool | None) -> float:
    return float("nan") if value is None else float(value)


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AnswerabilityFeatures) if f.name != "generator_declined")
ALIGNMENT_NAMES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n.startswith(("align_", "aligned_")))
"""The features only an :class:`~ragwright.answering.alignment.Aligner` fills (a token embedder is needed)."""


def extract_features(
    question: str, hits: list[Hit], scored: list[EvidenceSentence], idf: dict[str, float], *, k1: float
) -> AnswerabilityFeatures:
    """The features of one question's retrieval (``hits``), evidence (``scored``) and term rarity (``idf``)."""
    form = set(query_terms(" ".join(FORM_WORDS)))
    terms = [t for t in query_terms(question) if t not in form]
    if not scored:
        none = 0.0
        return AnswerabilityFeatures(
            *(none, none, none, none, none, none, none, none, none, none, none, none),
            missing_rare=1.0 if terms else 0.0,
            numbers_missing=none,
            entities_missing=none,
            type_mismatch=none,
            phrase_coverage=none,
            sentence_phrase_coverage=none,
            names_missing=1.0 if name_phrases(question) else 0.0,
            sentence_entities_missing=1.0 if _entities(question) else 0.0,
            dense_standout=none,
            bm25_standout=none,
        )
    ranked = sorted(scored, key=lambda s: (-s.support, s.hit.rank, s.start))
    best = ranked[0]
    other = [s.support for s in ranked if s.hit.chunk.doc_path != best.hit.chunk.doc_path]
    margin = best.support - (other[0] if other else 0.0)

    bm25 = sorted((h.bm25 for h in hits if h.bm25 is not None), reverse=True)
    reach = sum(idf.get(t, 0.0) for t in terms) * (k1 + 1.0) or 1.0
    dense = sorted((h.dense for h in hits if h.dense is not None), reverse=True)

    def passage_terms(hit: Hit) -> set[str]:
        return set(analyze(hit.chunk.chunk.text)) | set(analyze(hit.chunk.chunk.context))

    best_terms = passage_terms(best.hit)
    all_terms: set[str] = set().union(*(passage_terms(h) for h in hits)) if hits else set()
    weights = {t: idf.get(t, 0.0) for t in terms}
    total = sum(weights.values())

    def rare_share(found: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in found) / total if total else 1.0

    rare_coverage = rare_share(best_terms)
    others = [rare_share(passage_terms(h)) for h in hits if h.chunk.doc_path != best.hit.chunk.doc_path]
    sentence_terms = set(analyze(best.text)) | set(analyze(best.hit.chunk.chunk.context))
    rarest = max(terms, key=lambda t: (weights[t], t)) if terms else None
    top_idf = max(weights.values(), default=0.0)
    missing = [weights[t] for t in terms if t not in all_terms]
    missing_rare = max(missing) / top_idf if missing and top_idf > 0 else 0.0

    evidence_text = " ".join(h.chunk.chunk.text for h in hits).replace(",", "")
    numbers = set(_NUMBER.findall(question.replace(",", "")))
    numbers_missing = sum(n not in evidence_text for n in numbers) / len(numbers) if numbers else 0.0
    best_text = (best.hit.chunk.chunk.text + " " + best.hit.chunk.chunk.context).lower()
    best_words = set(_WORD.findall(best_text))
    entities = _entities(question)
    entities_missing = sum(e not in best_words for e in entities) / len(entities) if entities else 0.0
    kind = answer_type(question)
    q_words = {w.lower() for w in _WORD.findall(question)}
    top_text = " ".join(s.text for s in ranked[:3])
    mismatch = 0.0 if kind == AnswerType.NONE or has_answer_type(kind, top_text, q_words) else 1.0
    phrases = _phrase_features(question, terms, weights, best, scored, rare_coverage)
    return AnswerabilityFeatures(
        support_best=best.support,
        support_margin=margin,
        similarity_best=max(s.similarity for s in scored),
        coverage_best=best.coverage,
        bm25_top=bm25[0] / reach if bm25 else 0.0,
        bm25_gap=(bm25[0] - bm25[1]) / reach if len(bm25) > 1 else (bm25[0] / reach if bm25 else 0.0),
        dense_top=dense[0] if dense else 0.0,
        dense_gap=dense[0] - dense[1] if len(dense) > 1 else 0.0,
        rare_coverage=rare_coverage,
        rare_coverage_gap=rare_coverage - max(others, default=0.0),
        sentence_rare_coverage=rare_share(sentence_terms),
        rarest_found=1.0 if rarest is None or rarest in best_terms else 0.0,
        missing_rare=missing_rare,
        numbers_missing=numbers_missing,
        entities_missing=entities_missing,
        type_mismatch=mismatch,
        phrase_coverage=phrases[0],
        sentence_phrase_coverage=phrases[1],
        names_missing=phrases[2],
        sentence_entities_missing=phrases[3],
        dense_standout=dense[0] - float(np.mean(dense[1:])) if len(dense) > 1 else 0.0,
        bm25_standout=(bm25[0] - float(np.mean(bm25[1:]))) / reach if len(bm25) > 1 else 0.0,
    )


def _phrase_features(
    question: str,
    terms: list[str],
    weights: dict[str, float],
    best: EvidenceSentence,
    scored: list[EvidenceSentence],
    rare_coverage: float,
) -> tuple[float, float, float, float]:
    """``phrase_coverage``, ``sentence_phrase_coverage``, ``names_missing`` and ``sentence_entities_missing``."""
    wanted = {frozenset(p): weights[p[0]] + weights[p[1]] for p in zip(terms, terms[1:], strict=False) if p[0] != p[1]}
    total = sum(wanted.values())

    def pair_share(*texts: str) -> float:
        if not total:
            return rare_coverage
        found = set().union(*(_pairs(analyze(t), _PAIR_REACH) for t in texts))
        return sum(w for p, w in wanted.items() if p in found) / total

    chunk = best.hit.chunk.chunk
    names = name_phrases(question)
    passage = " ".join(_WORD.findall(f"{chunk.context} {chunk.text}".lower()))
    entities = _entities(question)
    sentence_words = set(_WORD.findall(f"{best.text} {chunk.context}".lower()))
    return (
        pair_share(chunk.text, chunk.context),
        max(pair_share(s.text, s.hit.chunk.chunk.context) for s in scored),
        sum(f" {n} " not in f" {passage} " for n in names) / len(names) if names else 0.0,
        sum(e not in sentence_words for e in entities) / len(entities) if entities else 0.0,
    )
