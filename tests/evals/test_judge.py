"""Judges: schema validation with one re-ask, disk cache, seed and temperature, both-order pairwise, budget and
concurrency; the judged metrics on a scripted judge that reads its prompt."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ragwright.answering.types import Answer, AnsweredBy, Citation, Retrieved
from ragwright.errors import BudgetExceeded, JudgeOutputError
from ragwright.evals.dataset import Case
from ragwright.evals.judge import Judge, JudgeLedger, current_ledger
from ragwright.evals.judged import AnswerRelevance, CitationPrecision, Faithfulness
from ragwright.evals.rubrics import RUBRICS
from ragwright.gateway.pricing import Price, PriceTable
from ragwright.gateway.types import ChatRequest, ChatResponse
from ragwright.testing import FakeChatModel, Reply
from tests.evals.conftest import scripted_judge

PASSAGE = "The compressor is covered for ten years. Other parts are covered for five years."


def _answer(text: str) -> Answer:
    return Answer(
        question="q",
        text=text,
        abstained=False,
        support=0.9,
        answered_by=AnsweredBy.EXTRACTIVE,
        citations=[Citation(1, "docs/w.md", "c1", 0, 10, "The compressor is covered for ten years.")],
        retrieved=[Retrieved("docs/w.md", "c1", 1.0, PASSAGE)],
    )


async def test_invalid_reply_is_re_asked_once_with_the_reason(judge_model: FakeChatModel) -> None:
    replies = iter(['{"score": 9, "reason": "x"}', '```json\n{"score": 4, "reason": "fine"}\n```'])
    model = FakeChatModel(lambda req: next(replies), name="fake:judge")
    result = await Judge(model).run("relevance", question="Q?", answer="A.")
    assert result.data == {"score": 4, "reason": "fine"} and model.calls == 2
    retry = model.requests[1].messages
    assert retry[-2].content == '{"score": 9, "reason": "x"}'
    assert "score: 9 is greater than the maximum of 5" in (retry[-1].content or "")
    first = model.requests[0]
    assert first.temperature == 0.0 and first.seed == 0
    assert first.response_format is not None and first.response_format.json_schema == RUBRICS["relevance"].schema


async def test_invalid_twice_is_a_typed_error_and_a_score_error_not_nan() -> None:
    model = FakeChatModel(lambda req: "I think it is good", name="fake:judge")
    ledger = JudgeLedger()
    current_ledger.set(ledger)
    with pytest.raises(JudgeOutputError, match="not JSON"):
        await Judge(model).run("relevance", question="Q?", answer="A.")
    assert ledger.calls == 2 and ledger.output_tokens == 10  # invalid replies are billed too
    score = await AnswerRelevance(Judge(model)).evaluate(Case(id="a", question="Q?"), _answer("Ten years. [1]"))
    assert score is not None and score.value is None and "judge failed" in (score.error or "")


async def test_cache_makes_a_rerun_free_and_keys_on_model_and_inputs(
    tmp_path: Path, judge_model: FakeChatModel
) -> None:
    cache = tmp_path / "judge.sqlite"
    judge = Judge(judge_model, cache_path=cache)
    first = await judge.run("relevance", question="How long is the warranty?", answer="The warranty is ten years.")
    judge.close()
    again = Judge(judge_model, cache_path=cache)
    ledger = JudgeLedger()
    current_ledger.set(ledger)
    second = await again.run("relevance", question="How long is the warranty?", answer="The warranty is ten years.")
    assert second.cached and second.data == first.data and judge_model.calls == 1
    assert ledger.calls == 1 and ledger.cached == 1 and ledger.input_tokens == 0
    await again.run("relevance", question="How long is the warranty?", answer="Five years.")
    other = FakeChatModel(scripted_judge, name="fake:other-judge")
    await Judge(other, cache_path=cache).run(
        "relevance", question="How long is the warranty?", answer="The warranty is ten years."
    )
    assert judge_model.calls == 2 and other.calls == 1


async def test_pairwise_counts_a_win_only_when_both_orders_agree() -> None:
    always_a = FakeChatModel(lambda req: json.dumps({"winner": "A", "reason": "first is best"}), name="fake:biased")
    verdict, reason = await Judge(always_a).pairwise("Q?", "short", "a much longer answer")
    assert verdict == "tie" and always_a.calls == 2 and "order 2-1" in reason
    fair = FakeChatModel(scripted_judge, name="fake:judge")  # prefers the longer answer wherever it stands
    assert (await Judge(fair).pairwise("Q?", "short", "a much longer answer"))[0] == "2"
    assert (await Judge(fair).pairwise("Q?", "a much longer answer", "short"))[0] == "1"


async def test_budget_stops_uncached_calls_once_spent() -> None:
    prices = PriceTable({"fake:judge": Price(input=10_000.0, output=10_000.0)})  # $0.01 per token
    model = FakeChatModel(scripted_judge, name="fake:judge", prices=prices)
    judge = Judge(model, budget_usd=0.5)
    ledger = JudgeLedger()
    current_ledger.set(ledger)
    await judge.run("relevance", question="How long?", answer="Ten years.")
    assert judge.spent_usd > 0.5 and ledger.cost_usd == pytest.approx(judge.spent_usd)
    with pytest.raises(BudgetExceeded):
        await judge.run("relevance", question="How long?", answer="Five years.")
    score = await AnswerRelevance(judge).evaluate(Case(id="a", question="How long?"), _answer("Ten. [1]"))
    assert score is not None and "budget" in (score.error or "") and model.calls == 1


class _Counting:
    """A ChatModel that records how many calls are in flight at once."""

    def __init__(self) -> None:
        self.name = "fake:judge"
        self.inner = FakeChatModel(lambda req: Reply(scripted_judge(req), delay=0.02), name="fake:judge")
        self.in_flight = self.peak = 0

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self.inner.chat(request)
        finally:
            self.in_flight -= 1

    def stream(self, request: ChatRequest) -> object:  # pragma: no cover - judges never stream
        raise NotImplementedError


async def test_concurrency_limit_bounds_calls_in_flight() -> None:
    model = _Counting()
    judge = Judge(model, concurrency=3)  # type: ignore[arg-type]
    await asyncio.gather(*(judge.run("relevance", question=f"Q{i}?", answer="A.") for i in range(12)))
    assert model.peak == 3


async def test_faithfulness_is_the_share_of_supported_claims(judge_model: FakeChatModel) -> None:
    judge = Judge(judge_model)
    case = Case(id="a", question="How long is the compressor covered?")
    good = await Faithfulness(judge).evaluate(case, _answer("The compressor is covered for ten years. [1]"))
    assert good is not None and good.value == 1.0
    half = await Faithfulness(judge).evaluate(
        case, _answer("The compressor is covered for ten years. [1] The fan was made on the Moon by penguins.")
    )
    assert half is not None and half.value == 0.5 and "penguins" in half.reason


async def test_citation_precision_checks_each_cited_sentence(judge_model: FakeChatModel) -> None:
    judge = Judge(judge_model)
    case = Case(id="a", question="?")
    score = await CitationPrecision(judge).evaluate(
        case, _answer("The compressor is covered for ten years. [1] Penguins built the fan on the Moon [1].")
    )
    assert score is not None and score.value == 0.5
    assert await CitationPrecision(judge).evaluate(case, _answer("No markers here.")) is None


async def test_answer_relevance_scales_the_judges_1_to_5(judge_model: FakeChatModel) -> None:
    judge = Judge(judge_model)
    case = Case(id="a", question="How long is the compressor covered?")
    on_topic = await AnswerRelevance(judge).evaluate(case, _answer("The compressor is covered for ten years. [1]"))
    off_topic = await AnswerRelevance(judge).evaluate(case, _answer("Penguins live on ice. [1]"))
    assert on_topic is not None and off_topic is not None
    assert on_topic.value == 0.75 and off_topic.value == 0.0  # 2 of 3 question words -> 4/5; none -> 1/5
    assert on_topic.reason.startswith("4/5")


async def test_pairwise_runs_counts_wins_only_when_both_orders_agree(judge_model: FakeChatModel) -> None:
    from ragwright.evals.pairwise import pairwise_runs
    from ragwright.evals.records import CaseRecord, EvalRun, RunSummary

    def run(answers: list[str]) -> EvalRun:
        cases = [CaseRecord(id=f"c{i}", question="Q?", answer=a) for i, a in enumerate(answers)]
        return EvalRun(name="r", cases=cases, summary=RunSummary(cases=len(cases)))

    base = run(["short", "a much longer answer here", "same", "x"])
    new = run(["a much longer answer", "tiny", "same", "y"])
    result = await pairwise_runs(base, new, Judge(judge_model))  # the scripted judge prefers the longer answer
    assert (result.count("new"), result.count("base"), result.count("tie")) == (1, 1, 2)
    assert result.to_json(per_case=False) == {
        "judge": "fake:judge",
        "cases": 4,
        "new_wins": 1,
        "base_wins": 1,
        "ties": 2,
        "errors": 0,
    }
    assert judge_model.calls == 6  # two orders for each of the 3 differing pairs; identical answers are not judged
    biased = FakeChatModel(lambda req: json.dumps({"winner": "A", "reason": "first"}), name="fake:biased")
    assert (await pairwise_runs(base, new, Judge(biased))).count("tie") == 4
