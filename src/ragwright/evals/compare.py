"""Comparing two runs and gating a run on a policy.

:func:`compare_runs` pairs the cases both runs scored and, per metric, reports the mean delta with a paired bootstrap
95% interval (fixed seed, so the same runs always give the same interval) and a verdict: ``better`` or ``worse`` when
the interval excludes zero, else ``no detectable change``.

:func:`gate` applies a policy (``gate.toml``)::

    [metrics."ndcg@10"]
    min = 0.65              # floor on the run's mean
    max_regression = 0.01   # fail if it drops more than this vs the baseline AND the 95% interval excludes zero
    [metrics.faithfulness]
    min = 0.9
    max_errors = 0          # judge failures allowed
    [metrics.latency_ms]    # per-case pipeline latency; lower is better
    max = 250               # ceiling on p95
    max_regression = 20

A metric named in the policy but absent from the run fails the gate (a missing number never passes silently).

When the interval includes zero but the set is too small to see a drop of ``max_regression`` (the smallest drop a
paired test detects at that n, α = 0.05 two-sided, power 0.8, from the observed per-case spread, is larger than the
tolerance), the check is **inconclusive**, not a pass: it is listed as such, and fails the gate when the policy says
``fail_on_inconclusive = true``.

Example::

    for d in compare_runs(load_run(base), load_run(new)):
        print(d.metric, d.delta, d.ci, d.verdict)
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragwright.errors import UserError
from ragwright.evals.records import EvalRun
from ragwright.evals.summary import LOWER_IS_BETTER, metric_values

__all__ = [
    "GatePolicy",
    "GateResult",
    "MetricDelta",
    "PromptChange",
    "compare_prompts",
    "compare_runs",
    "detectable_drop",
    "gate",
    "load_policy",
]

BETTER, WORSE, SAME = "better", "worse", "no detectable change"


@dataclass(frozen=True)
class MetricDelta:
    """One metric compared between two runs on their paired cases: means, delta, 95% interval, verdict."""

    metric: str
    base: float
    new: float
    delta: float
    """Mean of (new - base) over the paired cases (raw units; for latency a negative delta is an improvement)."""
    ci: tuple[float, float]
    n: int
    verdict: str
    sd: float = 0.0
    """Standard deviation of the per-case differences (for the detectable drop)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "base": round(self.base, 6),
            "new": round(self.new, 6),
            "delta": round(self.delta, 6),
            "ci95": [round(self.ci[0], 6), round(self.ci[1], 6)],
            "n": self.n,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class PromptChange:
    """One prompt as two runs used it: its version tag (``answer/v2#1c0f7a2e``) in each, "" where a run has none."""

    name: str
    base: str
    new: str

    @property
    def changed(self) -> bool:
        return self.base != self.new

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "new": self.new, "changed": self.changed}


def compare_prompts(base: EvalRun, new: EvalRun) -> list[PromptChange]:
    """The prompt versions of both runs side by side, by name (the changed ones are what the metrics compare)."""
    names = sorted(set(base.prompt_versions) | set(new.prompt_versions))
    return [PromptChange(n, base.prompt_versions.get(n, ""), new.prompt_versions.get(n, "")) for n in names]


def _metrics(run: EvalRun) -> list[str]:
    return [*sorted(run.summary.metrics), "latency_ms"]


def paired_delta(
    metric: str, base: EvalRun, new: EvalRun, *, resamples: int = 2000, seed: int = 0
) -> MetricDelta | None:
    """The paired bootstrap comparison of one metric, or None when no case has a value in both runs."""
    b, n = metric_values(base.cases, metric), metric_values(new.cases, metric)
    ids = sorted(set(b) & set(n))
    if not ids:
        return None
    base_v = np.array([b[i] for i in ids])
    new_v = np.array([n[i] for i in ids])
    diffs = new_v - base_v
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(ids), size=(resamples, len(ids)))].mean(axis=1)
    lo, hi = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    if sign * lo > 0 and sign * hi > 0:
        verdict = BETTER
    elif sign * lo < 0 and sign * hi < 0:
        verdict = WORSE
    else:
        verdict = SAME
    sd = float(diffs.std(ddof=1)) if len(ids) > 1 else 0.0
    return MetricDelta(
        metric, float(base_v.mean()), float(new_v.mean()), float(diffs.mean()), (lo, hi), len(ids), verdict, sd
    )


# z quantiles for a two-sided α = 0.05 test with power 0.8
_Z_ALPHA, _Z_POWER = 1.959964, 0.841621


def detectable_drop(sd: float, n: int) -> float:
    """The smallest mean paired difference a two-sided test at α = 0.05 detects with power 0.8, given the per-case
    differences' standard deviation ``sd`` over ``n`` cases (normal approximation: (z_α/2 + z_β) · sd / √n)."""
    if n < 2:
        return math.inf
    return (_Z_ALPHA + _Z_POWER) * sd / math.sqrt(n)


def compare_runs(
    base: EvalRun, new: EvalRun, *, metrics: list[str] | None = None, resamples: int = 2000, seed: int = 0
) -> list[MetricDelta]:
    names = metrics or [m for m in _metrics(new) if m in set(_metrics(base))]
    out = []
    for name in names:
        d = paired_delta(name, base, new, resamples=resamples, seed=seed)
        if d is not None:
            out.append(d)
    return out


class MetricPolicy(BaseModel):
    """The gate's rule for one metric: floor, ceiling, allowed regression vs the baseline, allowed errors."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    max_regression: float = Field(0.0, ge=0.0)
    max_errors: int | None = Field(None, ge=0)


class GatePolicy(BaseModel):
    """A gate policy (``gate.toml``): a rule per metric and the bootstrap's resamples and seed."""

    model_config = ConfigDict(extra="forbid")

    metrics: dict[str, MetricPolicy]
    resamples: int = Field(2000, ge=100)
    seed: int = 0
    fail_on_inconclusive: bool = False
    """Fail when a regression check is inconclusive (the set is too small to detect a drop of the tolerance)."""


def load_policy(path: Path) -> GatePolicy:
    try:
        return GatePolicy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read gate policy {path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@dataclass(frozen=True)
class GateResult:
    """The gate's checks: failed ones (with reasons), passed ones, and regression checks too small to conclude."""

    failures: list[str]
    passes: list[str]
    inconclusive: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _value(run: EvalRun, metric: str) -> tuple[float | None, int]:
    if metric == "latency_ms":
        return run.summary.latency_ms.p95, run.summary.pipeline_errors
    entry = run.summary.metrics.get(metric)
    if entry is None:
        return None, 0
    return entry.mean, entry.errors


def gate(new: EvalRun, policy: GatePolicy, baseline: EvalRun | None = None) -> GateResult:
    """Every failed check with its reason (floors, ceilings, error counts, regressions vs ``baseline``)."""
    failures: list[str] = []
    passes: list[str] = []
    inconclusive: list[str] = []
    for metric, rule in policy.metrics.items():
        value, errors = _value(new, metric)
        label = "p95" if metric == "latency_ms" else "mean"
        if value is None:
            failures.append(f"{metric}: not in the run (no case produced a value)")
            continue
        problems = []
        if rule.min is not None and value < rule.min:
            problems.append(f"{label} {value:.4f} is below the floor {rule.min}")
        if rule.max is not None and value > rule.max:
            problems.append(f"{label} {value:.4f} is above the ceiling {rule.max}")
        if rule.max_errors is not None and errors > rule.max_errors:
            problems.append(f"{errors} errors, more than the {rule.max_errors} allowed")
        if baseline is not None:
            d = paired_delta(metric, baseline, new, resamples=policy.resamples, seed=policy.seed)
            if d is None:
                problems.append("no case scored in both the baseline and this run")
            else:
                worse_by = d.delta if metric in LOWER_IS_BETTER else -d.delta
                ci = f"95% CI [{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]"
                if d.verdict == WORSE and worse_by > rule.max_regression:
                    problems.append(
                        f"regressed by {worse_by:.4f} vs baseline ({d.base:.4f} -> {d.new:.4f}, {ci}, "
                        f"n={d.n}), beyond the tolerance {rule.max_regression}"
                    )
                elif d.verdict == SAME and (mde := detectable_drop(d.sd, d.n)) > rule.max_regression:
                    why = (
                        f"inconclusive: delta {d.delta:+.4f} vs baseline, {ci}, n={d.n}; the smallest drop "
                        f"detectable at this n is {mde:.4f} (alpha 0.05, power 0.8), more than the tolerance "
                        f"{rule.max_regression}"
                    )
                    inconclusive.append(f"{metric}: {why}")
                    if policy.fail_on_inconclusive:
                        problems.append(why)
                else:
                    passes.append(f"{metric}: delta {d.delta:+.4f} vs baseline, {ci}: {d.verdict}")
        if problems:
            failures.extend(f"{metric}: {p}" for p in problems)
        else:
            passes.append(f"{metric}: {label} {value:.4f} within policy")
    return GateResult(failures, passes, inconclusive)
