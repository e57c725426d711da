"""Answers written by a model through the gateway (local SmolLM2 or a remote model), with citations checked in code.

Small models neither cite nor abstain reliably, so the model's own ``[n]`` markers are not trusted: each generated
sentence is matched against the evidence sentences, keeps a citation to the one that supports it best, and is dropped
(and reported in ``Answer.flagged``) when nothing supports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ragwright.answering.evidence import EvidenceSentence
from ragwright.answering.injection_prompt import ANSWER_PROMPT, answer_messages
from ragwright.answering.sentences import split_sentences
from ragwright.answering.types import Citation
from ragwright.models.base import Embedder
from ragwright.retrieval.analysis import query_terms
from ragwright.retrieval.retriever import Hit

PROMPT_VERSION = ANSWER_PROMPT.version
SUPPORT_SIMILARITY = 0.6
SUPPORT_COVERAGE = 0.6
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ABSTENTION = re.compile(r"\bnot\s+in\s+(?:the\s+)?(?:provided\s+)?(?:documents|passages)\b", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|none|cannot|can't|don't|doesn't|isn't|aren't|won't|without)\b", re.I)


def _facts_agree(generated: str, evidence: str) -> bool:
    """Numbers the sentence states must appear in its evidence, and both must agree on negation.

    Similarity and word overlap cannot tell "draws 65 W" from "draws 2.45 W"; this check can.
    """
    numbers = set(_NUMBER.findall(evidence.replace(",", "")))
    if any(n.replace(",", "") not in numbers for n in _NUMBER.findall(generated)):
        return False
    return bool(_NEGATION.search(generated)) == bool(_NEGATION.search(evidence))


def build_messages(question: str, hits: list[Hit]) -> tuple[str, str]:
    """System and user message: the rules, then the passages fenced as data (:mod:`.injection_prompt`)."""
    return answer_messages(question, [(hit.chunk.doc_path, hit.chunk.chunk.text) for hit in hits])


@dataclass(frozen=True, slots=True)
class Checked:
    """A model reply after verification: the supported sentences with citations, what was dropped, and whether the
    model said the documents do not hold the answer (its NOT IN DOCUMENTS sentence is neither kept nor dropped)."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    model_abstained: bool = False


def is_abstention(sentence: str) -> bool:
    """The model's own "NOT IN DOCUMENTS" (or "not in the documents / passages")."""
    return bool(_ABSTENTION.search(sentence))


def check_citations(generated: str, evidence: list[EvidenceSentence], embedder: Embedder | None) -> Checked:
    """Keep the generated sentences some evidence supports and cite that evidence; note the model's abstention."""
    sentences = [generated[s:e] for s, e in split_sentences(generated)]
    sentences = [_MARKER.sub("", s).strip() for s in sentences]
    model_abstained = any(is_abstention(s) for s in sentences)
    sentences = [s for s in sentences if s and not is_abstention(s)]
    if not sentences or not evidence:
        return Checked(dropped=sentences, model_abstained=model_abstained)
    ev_terms = [set(query_terms(e.text)) | set(query_terms(e.hit.chunk.chunk.context)) for e in evidence]
    if embedder is not None:
        gen_vecs = embedder.embed(sentences)
        ev_vecs = embedder.embed([e.text for e in evidence])
        sims = gen_vecs @ ev_vecs.T
    else:
        sims = np.zeros((len(sentences), len(evidence)), dtype=np.float32)
    numbers: dict[str, int] = {}
    kept: list[str] = []
    citations: list[Citation] = []
    dropped: list[str] = []
    for i, sentence in enumerate(sentences):
        terms = set(query_terms(sentence))
        coverage = [len(terms & et) / len(terms) if terms else 0.0 for et in ev_terms]
        agree = [j for j in range(len(evidence)) if _facts_agree(sentence, evidence[j].text)]
        if not agree:
            dropped.append(sentence)
            continue
        best = max(agree, key=lambda j: (float(sims[i, j]) + coverage[j], -j))
        if sims[i, best] < SUPPORT_SIMILARITY and coverage[best] < SUPPORT_COVERAGE:
            dropped.append(sentence)
            continue
        key = evidence[best].hit.chunk.chunk.id
        numbers.setdefault(key, len(numbers) + 1)
        citations.append(evidence[best].citation(numbers[key]))
        kept.append(f"{sentence} [{numbers[key]}]")
    return Checked(" ".join(kept), citations, dropped, model_abstained)
