"""Typed eval runs read the JSON that earlier versions wrote, and write the same shape back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragwright.evals.compare import GatePolicy, MetricPolicy, compare_runs, gate
from ragwright.evals.records import CaseRecord, EvalRun
from ragwright.evals.report import failing_cases, render_html
from ragwright.evals.runner import load_run
from ragwright.evals.scores import Score


def old_case(i: int, ndcg: float) -> dict[str, Any]:
    """A case record as the dict-based runner wrote it (before answerability, model and typed answered_by)."""
    return {
        "id": f"q{i}",
        "question": "How loud is it?",
        "tags": ["Aurora"],
        "answerable": True,
        "reference_answer": "38 dB",
        "answer": "It runs at 38 dB [1].",
        "abstained": False,
        "support": 0.71,
        "answered_by": "extractive",
        "citations": [{"n": 1, "doc": "p0000", "chunk_id": "c1", "snippet": "38 dB"}],
        "retrieved": [{"doc": "p0000", "chunk_id": "c1", "score": 0.93, "text": "The pump runs at 38 dB."}],
        "retrieved_ids": ["p0000"],
        "scores": {"ndcg@10": {"value": ndcg}, "faithfulness": {"error": "judge failed: timeout"}},
        "timings_ms": {"pipeline": 12.5, "eval": 3.0, "retrieve": 4.0},
        "judge": {"calls": 2, "cached": 1, "input_tokens": 300, "output_tokens": 20, "cost_usd": 0.0001},
    }


OLD_ERROR_CASE = {
    "id": "q9",
    "question": "?",
    "tags": [],
    "answerable": False,
    "error": "StoreError: cannot read index",
    "scores": {},
    "timings_ms": {"pipeline": 0.0},
    "judge": {},
}


def old_run(ndcg: list[float]) -> dict[str, Any]:
    cases = [old_case(i, v) for i, v in enumerate(ndcg)] + [OLD_ERROR_CASE]
    return {
        "format": "ragwright-eval-run/1",
        "name": "base",
        "dataset": "cases.jsonl",
        "finished_at": "2026-11-30T10:00:00+00:00",
        "config": {"retrieval": {"mode": "hybrid"}, "embedding": {"model": "fake"}, "judge": None},
        "prompt_versions": {"answer": "answer-local/1"},
        "fingerprint": "abc",
        "judge_note": None,
        "timing": {"cases_run_now": 3, "resumed": 0, "wall_s": 1.0, "pipeline_s": 0.5, "concurrency": 4},
        "summary": {
            "cases": len(cases),
            "pipeline_errors": 1,
            "pipeline_error_examples": ["q9: StoreError: cannot read index"],
            "abstained": 0,
            "metrics": {"ndcg@10": {"mean": sum(ndcg) / len(ndcg), "n": len(ndcg), "errors": 0, "error_examples": []}},
            "latency_ms": {"p50": 12.5, "p95": 12.5},
            "judge": {"calls": 2 * len(ndcg), "cached": len(ndcg), "cost_usd": 0.0001 * len(ndcg)},
            "by_tag": {"Aurora": {"cases": len(ndcg), "metrics": {"ndcg@10": {"mean": 0.5, "n": 2, "errors": 0}}}},
        },
        "cases": cases,
    }


def test_a_run_written_by_the_dict_based_runner_loads_typed(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(old_run([0.4, 0.6])))
    run = load_run(path)
    first, failed = run.cases[0], run.cases[-1]
    assert first.answerability is None and first.model is None  # fields the old runner did not write
    assert first.value("ndcg@10") == 0.4 and first.value("faithfulness") is None
    assert first.scores["faithfulness"] == Score(error="judge failed: timeout")
    assert first.citations[0].doc == "p0000" and first.retrieved[0].score == 0.93
    assert first.judge.calls == 2 and first.judge.cost_unknown == 0 and first.pipeline_ms == 12.5
    assert failed.error == "StoreError: cannot read index" and failed.answerable is False and failed.answer == ""
    assert run.summary.metrics["ndcg@10"].mean == 0.5 and run.summary.by_tag["Aurora"].metrics["ndcg@10"].n == 2
    assert run.summary.judge.cost_unknown_calls == 0 and run.timing.judge_calls == 0
    # and every consumer takes it
    assert [r.id for r in failing_cases(run)] == ["q0", "q1", "q9"]  # a judge error each, and a pipeline error
    page = render_html(run)
    assert "It runs at 38 dB [1]." in page and "pipeline error: StoreError: cannot read index" in page
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(old_run([0.9, 1.0])))
    (d,) = compare_runs(run, load_run(new_path), metrics=["ndcg@10"])
    assert d.n == 2 and d.delta == 0.45
    assert gate(load_run(new_path), GatePolicy(metrics={"ndcg@10": MetricPolicy(min=0.9)})).ok


def test_the_json_shape_is_kept() -> None:
    data = old_run([0.4, 0.6])
    run = EvalRun.from_json(data)
    again = run.to_json()
    # a record written now has the keys an old one has, plus the fields added since (null when unknown)
    for old, new in zip(data["cases"], again["cases"], strict=True):
        assert set(old) <= set(new) and set(new) - set(old) <= {"answerability", "model"}
        assert {k: new[k] for k in old if k != "judge"} == {k: old[k] for k in old if k != "judge"}
    assert again["cases"][-1] == {**OLD_ERROR_CASE, "judge": again["cases"][-1]["judge"]}
    assert EvalRun.from_json(again) == run
    assert CaseRecord.from_json(again["cases"][0]).to_json() == again["cases"][0]
