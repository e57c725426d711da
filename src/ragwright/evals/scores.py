"""What a metric returns: a :class:`Score` holding a finite value, or an error with its reason. Never NaN.

Example::

    Score.of(0.5, reason="1 of 2 claims supported")
    Score.fail("judge returned invalid JSON twice")
    Score.of(float("nan"))          # becomes an error: "metric produced a non-finite value (nan)"
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from ragwright.answering.types import Answer
from ragwright.evals.dataset import Case

__all__ = ["Metric", "Score"]


@dataclass(frozen=True, slots=True)
class Score:
    """What a metric gives one case: a finite value (with an optional reason), or an error."""

    value: float | None = None
    error: str | None = None
    reason: str = ""

    @classmethod
    def of(cls, value: float, reason: str = "") -> Score:
        if not math.isfinite(value):
            return cls(error=f"metric produced a non-finite value ({value})")
        return cls(value=float(value), reason=reason)

    @classmethod
    def fail(cls, error: str) -> Score:
        return cls(error=error)

    @property
    def ok(self) -> bool:
        return self.error is None and self.value is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value} if self.error is None else {"error": self.error}
        if self.reason:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        return cls(value=data.get("value"), error=data.get("error"), reason=data.get("reason", ""))


class Metric(Protocol):
    """One evaluator. ``evaluate`` returns a Score, or None when the metric does not apply to the case (EM on a
    question without a reference answer, say): not-applicable is neither a zero nor an error."""

    @property
    def name(self) -> str: ...

    @property
    def needs_judge(self) -> bool: ...

    async def evaluate(self, case: Case, answer: Answer) -> Score | None: ...
