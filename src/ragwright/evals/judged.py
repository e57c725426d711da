"""Metrics that need a judge model: faithfulness, answer relevance, citation precision.

Each catches the judge's failures (invalid JSON twice, budget spent, provider errors) and returns them as a
:class:`~ragwright.evals.scores.Score` error with its reason: a judged run never crashes and never records NaN.

Example::

    judge = Judge(model, cache_path=Path("judge-cache.sqlite"))
    metrics = judged_metrics(judge)
    score = await metrics[0].evaluate(case, answer)     # faithfulness
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ragwright.answering.types import Answer
from ragwright.errors import GatewayError
from ragwright.evals.dataset import Case
from ragwright.evals.judge import Judge
from ragwright.evals.metrics import answer_sentences, strip_markers
from ragwright.evals.scores import Metric, Score

__all__ = ["AnswerRelevance", "CitationPrecision", "Faithfulness", "judged_metrics"]

_CITE = re.compile(r"\[(\d+)\]")


def _passages(answer: Answer) -> dict[int, str]:
    """Citation number -> the text of the passage it points to (full chunk when retrieved, else the snippet)."""
    chunks = {r.chunk_id: r.text for r in answer.retrieved}
    out: dict[int, str] = {}
    for c in answer.citations:
        out.setdefault(c.n, chunks.get(c.chunk_id) or c.snippet)
    return out


def _verdicts(data: dict[str, Any], n: int) -> list[tuple[bool, str]]:
    by_index = {int(v["index"]): (bool(v["supported"]), str(v["reason"])) for v in data["verdicts"]}
    missing = [i for i in range(1, n + 1) if i not in by_index]
    if missing:
        raise ValueError(f"judge gave no verdict for item(s) {missing}")
    return [by_index[i] for i in range(1, n + 1)]


def _first_unsupported(items: list[str], verdicts: list[tuple[bool, str]]) -> str:
    for item, (ok, why) in zip(items, verdicts, strict=True):
        if not ok:
            return f"unsupported: {item!r}: {why}"
    return ""


@dataclass
class Faithfulness:
    """Share of the answer's claims that its cited evidence supports (claims extracted by the judge)."""

    judge: Judge
    name: str = "faithfulness"
    needs_judge: bool = True

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if answer.abstained or not answer.text.strip():
            return None
        try:
            claims = [
                c
                for c in (
                    await self.judge.run("claims", question=case.question, answer=strip_markers(answer.text))
                ).data["claims"]
                if c.strip()
            ]
            if not claims:
                return Score.of(1.0, reason="the answer makes no factual claim")
            passages = _passages(answer)
            if not passages:
                return Score.of(0.0, reason="the answer cites no evidence")
            evidence = "\n\n".join(f"[{n}] {text}" for n, text in sorted(passages.items()))
            listed = "\n".join(f"{i}. {c}" for i, c in enumerate(claims, start=1))
            verdicts = _verdicts((await self.judge.run("support", evidence=evidence, claims=listed)).data, len(claims))
        except (GatewayError, ValueError) as exc:
            return Score.fail(f"judge failed: {exc}")
        supported = sum(ok for ok, _ in verdicts)
        reason = _first_unsupported(claims, verdicts) or f"all {len(claims)} claims supported"
        return Score.of(supported / len(claims), reason=reason)


@dataclass
class CitationPrecision:
    """Share of (sentence, cited passage) pairs where the passage supports the sentence that cites it."""

    judge: Judge
    name: str = "citation_precision"
    needs_judge: bool = True

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if answer.abstained:
            return None
        passages = _passages(answer)
        pairs: list[tuple[str, str]] = []
        for sentence in answer_sentences(answer.text):
            for n in dict.fromkeys(int(m) for m in _CITE.findall(sentence)):
                pairs.append((strip_markers(sentence), passages.get(n, "")))
        if not pairs:
            return None
        listed = "\n\n".join(
            f"{i}. SENTENCE: {s}\n   PASSAGE: {p or '(no such passage)'}" for i, (s, p) in enumerate(pairs, start=1)
        )
        try:
            verdicts = _verdicts((await self.judge.run("citation", pairs=listed)).data, len(pairs))
        except (GatewayError, ValueError) as exc:
            return Score.fail(f"judge failed: {exc}")
        supported = sum(ok for ok, _ in verdicts)
        reason = _first_unsupported([s for s, _ in pairs], verdicts) or f"all {len(pairs)} citations support"
        return Score.of(supported / len(pairs), reason=reason)


@dataclass
class AnswerRelevance:
    """How well the answer addresses the question, judged 1-5 and scaled to 0..1."""

    judge: Judge
    name: str = "answer_relevance"
    needs_judge: bool = True

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if answer.abstained or not case.answerable:
            return None
        try:
            data = (await self.judge.run("relevance", question=case.question, answer=strip_markers(answer.text))).data
        except GatewayError as exc:
            return Score.fail(f"judge failed: {exc}")
        return Score.of((int(data["score"]) - 1) / 4, reason=f"{data['score']}/5: {data['reason']}")


def judged_metrics(judge: Judge) -> list[Metric]:
    return [Faithfulness(judge), CitationPrecision(judge), AnswerRelevance(judge)]
