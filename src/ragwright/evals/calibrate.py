"""How far to trust a judge: agreement with human labels (accuracy and Cohen's kappa).

A labels file is JSONL, one human judgement per line, of either kind::

    {"id": "s1", "kind": "support", "claim": "The Pro plan costs $29.", "evidence": "Pro: $29 per month.",
     "label": true}
    {"id": "r1", "kind": "relevance", "question": "What does Pro cost?", "answer": "$29 a month.", "label": 5}

Each item is put to the judge with the same rubric the metrics use, so the agreement measured is the agreement of
the scores you will read.

Example::

    report = await calibrate(load_labels(Path("labels.jsonl")), judge)
    report["overall"]["kappa"]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ragwright.errors import GatewayError, UserError
from ragwright.evals.judge import Judge

__all__ = ["Label", "calibrate", "cohen_kappa", "load_labels"]


class Label(BaseModel):
    """One human judgement to calibrate the judge against: a support or a relevance label and its inputs."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["support", "relevance"]
    label: bool | int
    claim: str = ""
    evidence: str = ""
    question: str = ""
    answer: str = ""


def load_labels(path: Path) -> list[Label]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read labels {path}: {exc.strerror or exc}") from None
    out = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            try:
                out.append(Label.model_validate_json(line))
            except ValidationError as exc:
                first = exc.errors()[0]
                raise UserError(f"{path}:{n}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    if not out:
        raise UserError(f"{path} holds no labels")
    return out


def cohen_kappa(human: Sequence[Hashable], judge: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when undefined (both raters used one single category:
    chance agreement is 1 and kappa is 0/0)."""
    n = len(human)
    if n == 0 or n != len(judge):
        return None
    observed = sum(h == j for h, j in zip(human, judge, strict=True)) / n
    h_counts, j_counts = Counter(human), Counter(judge)
    expected = sum(h_counts[c] * j_counts[c] for c in set(h_counts) | set(j_counts)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


async def _predict(item: Label, judge: Judge) -> bool | int:
    if item.kind == "support":
        data = (await judge.run("support", evidence=item.evidence, claims=f"1. {item.claim}")).data
        verdicts = {int(v["index"]): bool(v["supported"]) for v in data["verdicts"]}
        if 1 not in verdicts:
            raise ValueError("judge gave no verdict for the claim")
        return verdicts[1]
    return int((await judge.run("relevance", question=item.question, answer=item.answer)).data["score"])


def _agreement(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    human = [h for h, _ in pairs]
    pred = [p for _, p in pairs]
    kappa = cohen_kappa(human, pred)
    return {
        "n": len(pairs),
        "accuracy": round(sum(h == p for h, p in pairs) / len(pairs), 4) if pairs else None,
        "kappa": None if kappa is None else round(kappa, 4),
    }


async def calibrate(labels: Sequence[Label], judge: Judge) -> dict[str, Any]:
    """Per kind and overall: n, accuracy, Cohen's kappa; plus the items the judge failed on and disagreements."""
    pairs: dict[str, list[tuple[Any, Any]]] = {}
    failures: list[str] = []
    disagreements: list[dict[str, Any]] = []
    for item in labels:
        try:
            pred = await _predict(item, judge)
        except (GatewayError, ValueError) as exc:
            failures.append(f"{item.id}: {exc}")
            continue
        human = bool(item.label) if item.kind == "support" else int(item.label)
        pairs.setdefault(item.kind, []).append((human, pred))
        if human != pred:
            disagreements.append({"id": item.id, "kind": item.kind, "human": human, "judge": pred})
    by_kind = {kind: _agreement(p) for kind, p in sorted(pairs.items())}
    overall = _agreement([(f"{k}:{h}", f"{k}:{p}") for k, ps in pairs.items() for h, p in ps])
    return {
        "judge": judge.name,
        "by_kind": by_kind,
        "overall": overall,
        "judge_failures": failures,
        "disagreements": disagreements,
    }
