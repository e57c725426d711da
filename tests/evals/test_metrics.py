"""Offline metrics on constructed answers: retrieval (cross-checked against pytrec_eval), EM/F1, citation coverage,
abstention; and the Score contract (never NaN)."""

from __future__ import annotations

import math
import random

import pytest

from ragwright.answering.types import Answer, AnsweredBy, Citation, Retrieved
from ragwright.evals.dataset import Case
from ragwright.evals.metrics import (
    AbstentionAccuracy,
    CitationCoverage,
    ExactMatch,
    RetrievalMetric,
    TokenF1,
    answer_sentences,
)
from ragwright.evals.scores import Score

pytrec_eval = pytest.importorskip("pytrec_eval")


def _answer(
    text: str = "", docs: list[str] | None = None, abstained: bool = False, cites: list[int] | None = None
) -> Answer:
    retrieved = [
        Retrieved(f"corpus.jsonl#{d}", f"c{i}", 1.0 / (i + 1), f"text of {d}") for i, d in enumerate(docs or [])
    ]
    citations = [Citation(n, "corpus.jsonl#x", f"c{n - 1}", 0, 1, "s") for n in cites or []]
    return Answer(
        question="q",
        text=text,
        citations=citations,
        abstained=abstained,
        support=0.5,
        answered_by=AnsweredBy.EXTRACTIVE,
        retrieved=retrieved,
    )


async def test_retrieval_metrics_match_pytrec_eval_on_random_rankings() -> None:
    rng = random.Random(7)
    names = {"ndcg": "ndcg_cut", "recall": "recall", "precision": "P", "hit": "success"}
    for trial in range(40):
        docs = [f"d{i}" for i in range(30)]
        ranking = rng.sample(docs, rng.randint(1, 25))
        relevant = {d: rng.randint(0, 3) for d in rng.sample(docs, rng.randint(1, 8))}
        if not any(g > 0 for g in relevant.values()):
            relevant[docs[0]] = 1
        case = Case(id=f"q{trial}", question="?", relevant=relevant)
        # chunks of the same document: only the best one counts, later ones are dropped
        answer = _answer(docs=ranking + ranking[:3])
        run = {case.id: {d: float(len(ranking) - i) for i, d in enumerate(ranking)}}
        for k in (1, 5, 10):
            measures = {f"{v}_{k}" for v in names.values()}
            expected = pytrec_eval.RelevanceEvaluator({case.id: relevant}, measures).evaluate(run)[case.id]
            for kind, trec in names.items():
                got = await RetrievalMetric(kind, k).evaluate(case, answer)
                assert got is not None and got.ok
                assert got.value == pytest.approx(expected[f"{trec}_{k}"], abs=1e-9), (kind, k, trial)


async def test_retrieval_metric_does_not_apply_without_judgements() -> None:
    assert await RetrievalMetric("ndcg", 10).evaluate(Case(id="a", question="?"), _answer(docs=["d1"])) is None


async def test_mrr_counts_the_first_relevant_document() -> None:
    case = Case(id="a", question="?", relevant={"d3": 1})
    score = await RetrievalMetric("mrr", 10).evaluate(case, _answer(docs=["d1", "d2", "d3"]))
    assert score == Score(value=pytest.approx(1 / 3))
    assert (await RetrievalMetric("mrr", 2).evaluate(case, _answer(docs=["d1", "d2", "d3"]))) == Score(value=0.0)


async def test_em_and_f1_strip_citation_markers_and_use_any_reference() -> None:
    case = Case(id="a", question="?", reference_answer="ten years", alternatives=["10 years"])
    assert (await ExactMatch().evaluate(case, _answer("Ten years. [1]"))) == Score(value=1.0)
    f1 = await TokenF1().evaluate(case, _answer("The compressor: 10 years [1]"))
    assert f1 is not None and f1.value == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert (await TokenF1().evaluate(case, _answer("ten years", abstained=True))) == Score(value=0.0)
    unanswerable = Case(id="b", question="?", reference_answer="x", answerable=False)
    assert await ExactMatch().evaluate(unanswerable, _answer("x")) is None


async def test_citation_coverage_counts_sentences_with_markers() -> None:
    assert answer_sentences("It is red. [1] It is big [2]. It hums.") == [
        "It is red [1].",
        "It is big [2].",
        "It hums.",
    ]
    score = await CitationCoverage().evaluate(
        Case(id="a", question="?"), _answer("It is red. [1] It is big [2]. It hums.")
    )
    assert score is not None and score.value == pytest.approx(2 / 3) and "2 of 3" in score.reason
    assert await CitationCoverage().evaluate(Case(id="a", question="?"), _answer("x", abstained=True)) is None


async def test_abstention_accuracy_both_ways() -> None:
    metric = AbstentionAccuracy()
    yes, no = Case(id="a", question="?"), Case(id="b", question="?", answerable=False)
    assert (await metric.evaluate(yes, _answer("x"))).value == 1.0  # type: ignore[union-attr]
    assert (await metric.evaluate(no, _answer("x"))).value == 0.0  # type: ignore[union-attr]
    assert (await metric.evaluate(no, _answer("", abstained=True))).value == 1.0  # type: ignore[union-attr]
    wrong = await metric.evaluate(yes, _answer("", abstained=True))
    assert wrong is not None and wrong.value == 0.0 and "abstained on an answerable" in wrong.reason


def test_score_never_holds_nan() -> None:
    bad = Score.of(math.nan)
    assert not bad.ok and bad.value is None and "non-finite" in (bad.error or "")
    assert Score.of(float("inf")).error is not None
    assert Score.from_dict(Score.of(0.25, "why").to_dict()) == Score(value=0.25, reason="why")
