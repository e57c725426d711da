"""The default offline answerer: quote the evidence sentences that answer the question, cite them, or abstain.

Deterministic and unable to invent: every sentence of the answer is a verbatim span of an indexed document.
"""

from __future__ import annotations

from ragwright.answering.evidence import EvidenceSentence
from ragwright.answering.types import Citation

# A further sentence joins the answer only if it is nearly as well supported as the best one.
COMPANION_RATIO = 0.85


def select(scored: list[EvidenceSentence], *, max_sentences: int) -> list[EvidenceSentence]:
    """The best-supported sentence, plus runners-up that are nearly as well supported *and* cover a question term
    the chosen sentences do not (complementary evidence, not three variants of one fact); best first."""
    if not scored:
        return []
    ranked = sorted(scored, key=lambda s: (-s.support, s.hit.rank, s.start))
    best = ranked[0]
    chosen = [best]
    covered = set(best.matched)
    for cand in ranked[1:]:
        if len(chosen) >= max_sentences or cand.support < COMPANION_RATIO * best.support:
            break
        if set(cand.matched) - covered and all(cand.text != c.text for c in chosen):
            chosen.append(cand)
            covered |= set(cand.matched)
    return chosen


def compose(chosen: list[EvidenceSentence]) -> tuple[str, list[Citation]]:
    """Answer text with ``[n]`` after each sentence; passages are numbered in order of first citation."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for sent in chosen:
        key = sent.hit.chunk.chunk.id
        if key not in numbers:
            numbers[key] = len(numbers) + 1
        n = numbers[key]
        citations.append(sent.citation(n))
        parts.append(f"{sent.text} [{n}]")
    return " ".join(parts), citations
