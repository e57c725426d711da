"""compare: paired bootstrap deltas and verdicts; gate: floors, ceilings, errors and regressions with reasons."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ragwright.errors import UserError
from ragwright.evals.compare import GatePolicy, MetricPolicy, compare_runs, gate, load_policy, paired_delta
from ragwright.evals.records import CaseRecord, EvalRun
from ragwright.evals.scores import Score
from ragwright.evals.summary import summarize


def make_run(values: dict[str, list[float | None]], latency: list[float] | None = None) -> EvalRun:
    n = len(next(iter(values.values())))
    cases = [
        CaseRecord(
            id=f"c{i}",
            question="?",
            tags=["t"],
            scores={
                m: Score(value=v[i]) if v[i] is not None else Score(error="judge failed: x") for m, v in values.items()
            },
            timings_ms={"pipeline": (latency or [10.0] * n)[i]},
        )
        for i in range(n)
    ]
    return EvalRun(name="r", cases=cases, summary=summarize(cases))


def test_compare_verdicts_and_fixed_seed() -> None:
    rng = random.Random(1)
    base_vals = [rng.random() for _ in range(200)]
    base = make_run({"ndcg@10": base_vals, "f1": base_vals})
    new = make_run(
        {"ndcg@10": [min(1.0, v + 0.1) for v in base_vals], "f1": [v + rng.choice((-0.05, 0.05)) for v in base_vals]},
        latency=[5.0] * 200,
    )
    deltas = {d.metric: d for d in compare_runs(base, new)}
    assert deltas["ndcg@10"].verdict == "better" and deltas["ndcg@10"].ci[0] > 0
    assert deltas["f1"].verdict == "no detectable change" and deltas["f1"].ci[0] < 0 < deltas["f1"].ci[1]
    assert deltas["latency_ms"].verdict == "better" and deltas["latency_ms"].delta == -5.0  # lower is better
    assert deltas["ndcg@10"].n == 200
    assert compare_runs(base, new) == compare_runs(base, new)  # same seed, same interval
    worse = {d.metric: d for d in compare_runs(new, base)}
    assert worse["ndcg@10"].verdict == "worse" and worse["latency_ms"].verdict == "worse"


def test_compare_pairs_only_cases_scored_in_both() -> None:
    base = make_run({"faithfulness": [1.0, None, 0.0, 1.0]})
    new = make_run({"faithfulness": [1.0, 1.0, None, 0.0]})
    d = paired_delta("faithfulness", base, new)
    assert d is not None and d.n == 2 and d.delta == -0.5


def test_gate_floor_regression_errors_and_missing_metric() -> None:
    base = make_run({"ndcg@10": [0.8] * 50, "faithfulness": [1.0] * 50})
    new = make_run({"ndcg@10": [0.7] * 50, "faithfulness": [1.0] * 49 + [None]})
    policy = GatePolicy(
        metrics={
            "ndcg@10": MetricPolicy(min=0.75, max_regression=0.05),
            "faithfulness": MetricPolicy(min=0.9, max_errors=0),
            "answer_relevance": MetricPolicy(min=0.5),
        }
    )
    result = gate(new, policy, base)
    assert not result.ok
    text = "\n".join(result.failures)
    assert "ndcg@10: mean 0.7000 is below the floor 0.75" in text
    assert "ndcg@10: regressed by 0.1000 vs baseline (0.8000 -> 0.7000" in text and "tolerance 0.05" in text
    assert "faithfulness: 1 errors, more than the 0 allowed" in text
    assert "answer_relevance: not in the run" in text
    lenient = GatePolicy(metrics={"ndcg@10": MetricPolicy(min=0.6, max_regression=0.2)})
    assert gate(new, lenient, base).ok
    assert gate(base, policy.model_copy(update={"metrics": {"ndcg@10": policy.metrics["ndcg@10"]}}), new).ok


def test_gate_does_not_fail_a_drop_the_interval_cannot_tell_from_noise() -> None:
    rng = random.Random(3)
    vals = [rng.random() for _ in range(30)]
    base = make_run({"f1": vals})
    new = make_run({"f1": [v + (-0.3 if i % 2 else 0.28) for i, v in enumerate(vals)]})  # mean -0.01
    d = paired_delta("f1", base, new)
    assert d is not None and d.delta < 0 and d.verdict == "no detectable change"
    assert gate(new, GatePolicy(metrics={"f1": MetricPolicy()}), base).ok


def test_latency_ceiling_uses_p95(tmp_path: Path) -> None:
    run = make_run({"f1": [1.0] * 20}, latency=[10.0] * 18 + [500.0, 600.0])
    policy_file = tmp_path / "gate.toml"
    policy_file.write_text("[metrics.latency_ms]\nmax = 100\n")
    result = gate(run, load_policy(policy_file))
    assert not result.ok and "latency_ms: p95" in result.failures[0] and "above the ceiling 100" in result.failures[0]
    policy_file.write_text("[metrics.f1]\nfloor = 1\n")
    with pytest.raises(UserError, match="floor"):
        load_policy(policy_file)
