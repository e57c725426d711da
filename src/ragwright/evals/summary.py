"""Folding per-case records into summaries: per-metric means with error counts, per-tag breakdowns, latency and
cost per 1,000 questions. Shared by the runner, the report and compare.

Example::

    summarize(records).metrics["ndcg@10"]   # MetricSummary(mean=0.71, n=300, errors=0, error_examples=())
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ragwright.evals.records import CaseRecord, JudgeSummary, Latency, MetricSummary, RunSummary, TagSummary

__all__ = ["LOWER_IS_BETTER", "metric_values", "percentiles", "summarize", "summarize_metrics"]

LOWER_IS_BETTER = frozenset(
    {"latency_ms", "answer_tokens", "wasted_calls", "steps", "tool_calls", "tokens", "cost_usd"}  # agent runs too
)


def metric_values(records: Sequence[CaseRecord], metric: str) -> dict[str, float]:
    """Case id -> value of ``metric`` for cases where it has a value (``latency_ms`` is the pipeline's time)."""
    out: dict[str, float] = {}
    for rec in records:
        if metric == "latency_ms":
            if rec.error is None:
                out[rec.id] = rec.pipeline_ms
            continue
        value = rec.value(metric)
        if value is not None:
            out[rec.id] = float(value)
    return out


def percentiles(values: list[float]) -> Latency:
    if not values:
        return Latency()
    arr = np.asarray(values, dtype=float)
    return Latency(round(float(np.percentile(arr, 50)), 3), round(float(np.percentile(arr, 95)), 3))


def summarize_metrics(records: Sequence[CaseRecord]) -> dict[str, MetricSummary]:
    values: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    for rec in records:
        for name, score in rec.scores.items():
            if score.error is not None:
                errors[name].append(f"{rec.id}: {score.error}")
            elif score.value is not None:
                values[name].append(float(score.value))
    out: dict[str, MetricSummary] = {}
    for name in sorted(set(values) | set(errors)):
        vals = values.get(name, [])
        out[name] = MetricSummary(
            mean=round(sum(vals) / len(vals), 6) if vals else None,
            n=len(vals),
            errors=len(errors.get(name, [])),
            error_examples=tuple(errors.get(name, [])[:3]),
        )
    return out


def summarize(records: Sequence[CaseRecord]) -> RunSummary:
    ok = [r for r in records if r.error is None]
    n = max(len(records), 1)
    calls = sum(r.judge.calls for r in records)
    input_tokens = sum(r.judge.input_tokens for r in records)
    output_tokens = sum(r.judge.output_tokens for r in records)
    cost = sum(r.judge.cost_usd for r in records)
    tags: dict[str, list[CaseRecord]] = defaultdict(list)
    for rec in records:
        for tag in rec.tags or ["(untagged)"]:
            tags[tag].append(rec)
    return RunSummary(
        cases=len(records),
        pipeline_errors=len(records) - len(ok),
        pipeline_error_examples=tuple(f"{r.id}: {r.error}" for r in records if r.error is not None)[:3],
        abstained=sum(1 for r in ok if r.abstained),
        metrics=summarize_metrics(records),
        latency_ms=percentiles([r.pipeline_ms for r in ok]),
        judge=JudgeSummary(
            calls=calls,
            cached=sum(r.judge.cached for r in records),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=round(cost, 6),
            cost_unknown_calls=sum(r.judge.cost_unknown for r in records),
            tokens_per_1k_questions=round(1000 * (input_tokens + output_tokens) / n, 1),
            cost_per_1k_questions_usd=round(1000 * cost / n, 6),
        ),
        by_tag={
            tag: TagSummary(cases=len(recs), metrics=summarize_metrics(recs)) for tag, recs in sorted(tags.items())
        },
    )
