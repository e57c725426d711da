"""Answers written by a model through the gateway (local SmolLM2 or a remote model), with citations checked in code.

Small models neither cite nor abstain reliably, so the model's own ``[n]`` markers are not trusted: each generated
sentence is checked against the evidence sentences (:mod:`ragwright.answering.verify`, and a model judge when one is
configured), keeps a citation to the one that supports it best, and is dropped (and reported in ``Answer.flagged``)
when nothing supports it. A sentence repeated is kept once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ragwright.answering.evidence import EvidenceSentence
from ragwright.answering.injection_prompt import answer_messages
from ragwright.answering.sentences import reply_sentences
from ragwright.answering.types import Citation
from ragwright.answering.verify import EvidenceText, Failure, Verdict, verify_offline
from ragwright.answering.verify_judge import ModelJudge
from ragwright.models.base import Embedder
from ragwright.prompts.model import PromptVersion
from ragwright.retrieval.retriever import Hit

_ABSTENTION = re.compile(r"\bnot\s+in\s+(?:the\s+)?(?:provided\s+)?(?:documents|passages)\b", re.I)


def build_messages(question: str, hits: list[Hit], prompt: PromptVersion | None = None) -> tuple[str, str]:
    """System and user message: the rules (``prompt``, the packaged ``answer`` by default), then the passages fenced
    as data (:mod:`.injection_prompt`)."""
    return answer_messages(question, [(hit.chunk.doc_path, hit.chunk.chunk.text) for hit in hits], prompt)


@dataclass(frozen=True, slots=True)
class Checked:
    """A model reply after verification: the supported sentences with citations, what was dropped, and whether the
    model said the documents do not hold the answer (its NOT IN DOCUMENTS sentence is neither kept nor dropped)."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    model_abstained: bool = False
    collapsed: list[str] = field(default_factory=list)
    """Repeats of a sentence already kept (or dropped): removed without being listed as unsupported."""
    verdicts: tuple[Verdict, ...] = ()


def is_abstention(sentence: str) -> bool:
    """The model's own "NOT IN DOCUMENTS" (or "not in the documents / passages")."""
    return bool(_ABSTENTION.search(sentence))


def check_citations(
    generated: str, evidence: list[EvidenceSentence], embedder: Embedder | None, judge: ModelJudge | None = None
) -> Checked:
    """Keep the generated sentences the evidence supports and cite that evidence; collapse repeats; note the model's
    abstention. Each sentence goes through the offline check (:mod:`ragwright.answering.verify`), then, with a
    ``judge``, through the model's yes/no judgment (the offline verdict stands when the judge cannot answer)."""
    sentences = reply_sentences(generated)
    model_abstained = any(is_abstention(s) for s in sentences)
    sentences = [s for s in sentences if s and not is_abstention(s)]
    if not sentences or not evidence:
        return Checked(dropped=sentences, model_abstained=model_abstained)
    texts = [EvidenceText(e.text, e.hit.chunk.chunk.id, e.hit.chunk.chunk.context) for e in evidence]
    verdicts = verify_offline(sentences, texts, embedder)
    if judge is not None:
        verdicts = judge.review(sentences, texts, verdicts)
    numbers: dict[str, int] = {}
    kept: list[str] = []
    citations: list[Citation] = []
    dropped: list[str] = []
    collapsed: list[str] = []
    for verdict in verdicts:
        if verdict.failure is Failure.REPEAT:
            collapsed.append(verdict.sentence)
            continue
        if not verdict.supported:
            dropped.append(verdict.sentence)
            continue
        source = evidence[verdict.evidence if verdict.evidence is not None else 0]
        key = source.hit.chunk.chunk.id
        numbers.setdefault(key, len(numbers) + 1)
        citations.append(source.citation(numbers[key]))
        kept.append(f"{verdict.sentence} [{numbers[key]}]")
    return Checked(" ".join(kept), citations, dropped, model_abstained, collapsed, tuple(verdicts))
