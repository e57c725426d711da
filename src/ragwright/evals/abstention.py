"""Re-fit the abstention operating point on your own golden set, and the reliability of the answerability.

The shipped answerability model (``answering/answerability.py``) is calibrated on public data; your corpus may sit
elsewhere. ``ragwright eval calibrate-abstention cases.jsonl`` runs each case through the pipeline, takes the
calibrated answerability of each, and picks the highest threshold that keeps false abstention (abstaining on a case
labelled answerable) at or under the target; it writes ``answer.min_answerability`` to the config file.

Example::

    result = calibrate_abstention(cases, rw, max_false_abstention=0.05)
    set_toml_value(Path("ragwright.toml"), "answer", "min_answerability", result.threshold)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragwright.answering.answerability import operating_point
from ragwright.errors import UserError
from ragwright.evals.dataset import Case

if TYPE_CHECKING:
    from ragwright.app import Ragwright

__all__ = ["AbstentionCalibration", "ReliabilityBin", "calibrate_abstention", "reliability", "set_toml_value"]


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """Cases whose predicted answerability fell in ``[lo, hi)``: how many, the mean prediction, the share answerable."""

    lo: float
    hi: float
    n: int
    predicted: float
    observed: float


def reliability(probs: Sequence[float], answerable: Sequence[bool], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1] (the last includes 1); empty bins are left out."""
    out = []
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        idx = [j for j, p in enumerate(probs) if lo <= p < hi or (i == bins - 1 and p == 1.0)]
        if idx:
            out.append(
                ReliabilityBin(
                    lo,
                    hi,
                    len(idx),
                    sum(probs[j] for j in idx) / len(idx),
                    sum(answerable[j] for j in idx) / len(idx),
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class AbstentionCalibration:
    """The re-fitted operating point and what it does on the golden set."""

    threshold: float
    previous: float
    n_answerable: int
    n_unanswerable: int
    false_abstention: float
    """Share of answerable cases under the new threshold."""
    unanswerable_abstained: float | None
    previous_false_abstention: float
    previous_unanswerable_abstained: float | None
    bins: list[ReliabilityBin]


def _rate(values: list[float], threshold: float) -> float | None:
    return sum(v < threshold for v in values) / len(values) if values else None


def calibrate_abstention(
    cases: list[Case],
    rw: Ragwright,
    *,
    max_false_abstention: float = 0.05,
    on_case: Callable[[int, int], None] | None = None,
) -> AbstentionCalibration:
    """Ask every case, then choose the operating point on the labelled answerability (``Case.answerable``)."""
    if not 0.0 <= max_false_abstention < 1.0:
        raise UserError("--max-false-abstention must be in [0, 1)")
    probs: list[float] = []
    labels: list[bool] = []
    for i, case in enumerate(cases):
        answer = rw.ask(case.question)
        if answer.answerability is None:
            raise UserError(f"case {case.id}: the pipeline returned no answerability")
        probs.append(answer.answerability)
        labels.append(case.answerable)
        if on_case is not None:
            on_case(i + 1, len(cases))
    from ragwright.answering.answerability import resolve_model

    configured = rw.settings.answer.min_answerability
    previous = resolve_model(rw.settings.answer.answerability_model).threshold if configured is None else configured
    yes = [p for p, a in zip(probs, labels, strict=True) if a]
    no = [p for p, a in zip(probs, labels, strict=True) if not a]
    if not yes:
        raise UserError("the golden set has no answerable case: the operating point needs some")
    threshold = operating_point(yes, max_false_abstention)
    return AbstentionCalibration(
        threshold=threshold,
        previous=previous,
        n_answerable=len(yes),
        n_unanswerable=len(no),
        false_abstention=_rate(yes, threshold) or 0.0,
        unanswerable_abstained=_rate(no, threshold),
        previous_false_abstention=_rate(yes, previous) or 0.0,
        previous_unanswerable_abstained=_rate(no, previous),
        bins=reliability(probs, labels),
    )


_SECTION = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def set_toml_value(path: Path, section: str, key: str, value: float) -> None:
    """Set ``key = value`` in ``[section]`` of a TOML file, keeping everything else as written (created if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines()
    line = f"{key} = {value!r}"
    start = next((i for i, s in enumerate(lines) if (m := _SECTION.match(s)) and m.group(1).strip() == section), None)
    if start is None:
        lines += (["", f"[{section}]"] if lines else [f"[{section}]"]) + [line]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        found = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
        if found is None:
            lines.insert(start + 1, line)
        else:
            lines[found] = line
    new = "\n".join(lines) + "\n"
    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"cannot update {path}: it is not valid TOML ({exc})") from None
    if parsed.get(section, {}).get(key) != value:
        raise UserError(f"cannot update {path}: [{section}] {key} would not read back as {value}")
    path.write_text(new, encoding="utf-8")
