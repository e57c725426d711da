"""Folding per-case records into summaries: per-metric means with error counts, per-tag breakdowns, latency and
cost per 1,000 questions. Shared by the runner, the report and compare.

Example::

    summarize(records)["metrics"]["ndcg@10"]   # {"mean": 0.71, "n": 300, "errors": 0, "error_examples": []}
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

__all__ = ["LOWER_IS_BETTER", "metric_values", "percentiles", "summarize", "summarize_metrics"]

LOWER_IS_BETTER = frozenset({"latency_ms", "answer_tokens"})


def metric_values(records: list[dict[str, Any]], metric: str) -> dict[str, float]:
    """Case id -> value of ``metric`` for cases where it has a value (``latency_ms`` is the pipeline's time)."""
    out: dict[str, float] = {}
    for rec in records:
        if metric == "latency_ms":
            if "error" not in rec:
                out[rec["id"]] = float(rec["timings_ms"]["pipeline"])
            continue
        score = rec.get("scores", {}).get(metric)
        if score is not None and score.get("value") is not None:
            out[rec["id"]] = float(score["value"])
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    arr = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def summarize_metrics(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    values: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    for rec in records:
        for name, score in rec.get("scores", {}).items():
            if score.get("error") is not None:
                errors[name].append(f"{rec['id']}: {score['error']}")
            elif score.get("value") is not None:
                values[name].append(float(score["value"]))
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(values) | set(errors)):
        vals = values.get(name, [])
        out[name] = {
            "mean": round(sum(vals) / len(vals), 6) if vals else None,
            "n": len(vals),
            "errors": len(errors.get(name, [])),
            "error_examples": errors.get(name, [])[:3],
        }
    return out


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in records if "error" not in r]
    judge: defaultdict[str, float] = defaultdict(float)
    for rec in records:
        for key, value in rec.get("judge", {}).items():
            judge[key] += value
    n = max(len(records), 1)
    tags: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        for tag in rec.get("tags") or ["(untagged)"]:
            tags[tag].append(rec)
    return {
        "cases": len(records),
        "pipeline_errors": len(records) - len(ok),
        "pipeline_error_examples": [f"{r['id']}: {r['error']}" for r in records if "error" in r][:3],
        "abstained": sum(1 for r in ok if r.get("abstained")),
        "metrics": summarize_metrics(records),
        "latency_ms": percentiles([float(r["timings_ms"]["pipeline"]) for r in ok]),
        "judge": {
            "calls": int(judge["calls"]),
            "cached": int(judge["cached"]),
            "input_tokens": int(judge["input_tokens"]),
            "output_tokens": int(judge["output_tokens"]),
            "cost_usd": round(judge["cost_usd"], 6),
            "cost_unknown_calls": int(judge["cost_unknown"]),
            "tokens_per_1k_questions": round(1000 * (judge["input_tokens"] + judge["output_tokens"]) / n, 1),
            "cost_per_1k_questions_usd": round(1000 * judge["cost_usd"] / n, 6),
        },
        "by_tag": {
            tag: {
                "cases": len(recs),
                "metrics": {
                    k: {"mean": v["mean"], "n": v["n"], "errors": v["errors"]}
                    for k, v in summarize_metrics(recs).items()
                },
            }
            for tag, recs in sorted(tags.items())
        },
    }
