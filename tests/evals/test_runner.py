"""The runner end to end on a generated SQuAD-style set: real index (fake embedder), scripted judge, per-case
records, resume after an interruption without re-running finished cases, and the no-judge path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragwright.answering.types import Answer
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import UserError
from ragwright.evals.dataset import Case, load_cases
from ragwright.evals.importers import import_squad
from ragwright.evals.judge import Judge
from ragwright.evals.metrics import AbstentionAccuracy, RetrievalMetric
from ragwright.evals.runner import NO_JUDGE_NOTE, load_run, run_eval, sidecar_path
from ragwright.evals.scores import Score
from ragwright.testing import FakeChatModel


class CountingApp(Ragwright):
    asked: list[str]

    def ask(self, question: str, **kwargs: object) -> Answer:  # type: ignore[override]
        self.asked.append(question)
        return super().ask(question, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def app(settings: Settings, squad_file: Path, tmp_path: Path) -> CountingApp:
    import_squad(squad_file, out=tmp_path / "cases.jsonl", corpus_out=tmp_path / "corpus.jsonl")
    rw = CountingApp(settings)
    rw.asked = []
    rw.ingest([tmp_path / "corpus.jsonl"])
    yield rw
    rw.close()


async def test_run_records_every_case_with_real_scores(
    app: CountingApp, tmp_path: Path, judge_model: FakeChatModel
) -> None:
    cases = load_cases(tmp_path / "cases.jsonl")
    judge = Judge(judge_model, cache_path=tmp_path / "judge.sqlite")
    run = await run_eval(cases, rw=app, out=tmp_path / "runs/r.json", judge=judge, concurrency=3)
    assert json.loads((tmp_path / "runs/r.json").read_text()) == run.to_json()
    assert load_run(tmp_path / "runs/r.json") == run  # what is written reads back as the same run
    assert not sidecar_path(tmp_path / "runs/r.json").exists()
    by_id = {r.id: r for r in run.cases}
    assert list(by_id) == [c.id for c in cases]
    held = by_id["q4"]  # paragraph 5 is held out of the index: the right behaviour is to abstain
    assert held.answerable is False and held.abstained is True
    assert held.scores["abstention_accuracy"] == Score(value=1.0, reason="abstained")
    assert "ndcg@10" not in held.scores and "faithfulness" not in held.scores
    first = by_id["q0"]
    assert first.answer.startswith("The Aurora heat pump runs at 38 dB in night mode.")
    assert first.retrieved_ids[0] == "p0000" and first.citations[0].doc == "p0000"
    assert first.value("hit@1") == 1.0 and first.value("faithfulness") == 1.0
    assert first.value("f1") == pytest.approx(2 * 0.2 * 1.0 / 1.2)  # "38 dB" in a 10-token sentence
    assert first.judge.calls == 4 and first.judge.input_tokens > 0
    assert first.timings_ms["pipeline"] > 0 and first.timings_ms["eval"] > 0
    summary = run.summary
    # the summary means are the means of the per-case values
    ndcg = [v for r in run.cases if (v := r.value("ndcg@10")) is not None]
    assert summary.metrics["ndcg@10"].mean == pytest.approx(sum(ndcg) / len(ndcg), abs=1e-6)
    assert summary.metrics["ndcg@10"].n == 8 and summary.metrics["abstention_accuracy"].n == 10
    assert all(m.errors == 0 for m in summary.metrics.values())
    assert summary.judge.calls == judge_model.calls and summary.judge.tokens_per_1k_questions > 0
    assert set(summary.by_tag) >= {"answerable", "unanswerable", "Aurora"}
    assert run.prompt_versions["support"].startswith("judge_support/v1#") and run.config["judge"] == "fake:judge"
    assert run.judge_note is None
    judge.close()
    # a second run over a warm cache calls the judge model zero times
    calls = judge_model.calls
    again = Judge(judge_model, cache_path=tmp_path / "judge.sqlite")
    rerun = await run_eval(cases, rw=app, out=tmp_path / "runs/r2.json", judge=again)
    assert judge_model.calls == calls and rerun.summary.judge.cached == rerun.summary.judge.calls
    assert rerun.summary.metrics == summary.metrics


async def test_without_a_judge_offline_metrics_run_and_the_note_says_why(app: CountingApp, tmp_path: Path) -> None:
    run = await run_eval(load_cases(tmp_path / "cases.jsonl"), rw=app, out=tmp_path / "r.json")
    assert run.judge_note == NO_JUDGE_NOTE and run.config["judge"] is None
    assert "faithfulness" not in run.summary.metrics and "ndcg@10" in run.summary.metrics


class Interrupted(Exception):
    """Stands in for Ctrl-C (pytest itself handles a real KeyboardInterrupt)."""


@dataclass
class Explode:
    """Interrupts the run when it reaches a given case."""

    at: str | None
    name: str = "abstention_accuracy"
    needs_judge: bool = False

    async def evaluate(self, case: Case, answer: Answer) -> Score | None:
        if case.id == self.at:
            raise Interrupted
        return await AbstentionAccuracy().evaluate(case, answer)


async def test_interrupted_run_resumes_without_re_running_finished_cases(app: CountingApp, tmp_path: Path) -> None:
    cases = load_cases(tmp_path / "cases.jsonl")
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        await run_eval(cases, rw=app, out=out, concurrency=1, metrics=[RetrievalMetric("hit", 1), Explode("q6")])
    side = sidecar_path(out)
    finished = [json.loads(line)["id"] for line in side.read_text().splitlines()[1:]]
    assert finished == ["q0", "q1", "q2", "q3", "q4", "q5"] and not out.exists()
    app.asked.clear()
    run = await run_eval(cases, rw=app, out=out, concurrency=1, metrics=[RetrievalMetric("hit", 1), Explode(None)])
    assert len(app.asked) == 4 and app.asked[0] == cases[6].question
    assert [r.id for r in run.cases] == [c.id for c in cases]
    assert run.timing.resumed == 6 and run.timing.cases_run_now == 4
    assert run.summary.metrics["abstention_accuracy"].n == 10


async def test_a_partial_run_under_another_configuration_is_refused(app: CountingApp, tmp_path: Path) -> None:
    cases = load_cases(tmp_path / "cases.jsonl")
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        await run_eval(cases, rw=app, out=out, concurrency=1, metrics=[Explode("q2")])
    with pytest.raises(UserError, match="another configuration"):
        await run_eval(cases[:5], rw=app, out=out, metrics=[Explode(None)])
    run = await run_eval(cases[:5], rw=app, out=out, metrics=[Explode(None)], fresh=True)
    assert run.timing.resumed == 0 and len(run.cases) == 5


async def test_a_line_cut_by_a_kill_is_re_run(app: CountingApp, tmp_path: Path) -> None:
    cases = load_cases(tmp_path / "cases.jsonl")[:4]
    out = tmp_path / "r.json"
    with pytest.raises(Interrupted):
        await run_eval(cases, rw=app, out=out, concurrency=1, metrics=[Explode("q3")])
    side = sidecar_path(out)
    text = side.read_text()
    side.write_text(text[: len(text) - 40])  # the last record was half-written when the process died
    app.asked.clear()
    run = await run_eval(cases, rw=app, out=out, concurrency=1, metrics=[Explode(None)])
    assert app.asked == [cases[2].question, cases[3].question] and run.timing.resumed == 2
    assert [r.id for r in run.cases] == ["q0", "q1", "q2", "q3"]


async def test_an_empty_sidecar_starts_afresh(app: CountingApp, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    sidecar_path(out).write_text("")
    run = await run_eval(load_cases(tmp_path / "cases.jsonl")[:2], rw=app, out=out, metrics=[Explode(None)])
    assert run.timing.resumed == 0 and len(app.asked) == 2
