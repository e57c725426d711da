"""Typed eval runs: the run, each case's record and the summary, with the JSON they are written as.

``to_json`` gives the on-disk shape (``ragwright-eval-run/1``, unchanged); ``from_json`` reads it, including runs and
sidecar records written by earlier versions (keys they lack take their defaults: ``answerability``, ``model``, ...).

Example::

    run = EvalRun.from_json(json.loads(path.read_text()))
    run.summary.metrics["ndcg@10"].mean
    [c.id for c in run.cases if c.error is not None]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragwright.evals.judge import JudgeLedger
from ragwright.evals.scores import Score

__all__ = [
    "CaseRecord",
    "CitedPassage",
    "EvalRun",
    "JudgeSummary",
    "Latency",
    "MetricSummary",
    "RetrievedPassage",
    "RunSummary",
    "RunTiming",
    "TagSummary",
]

RUN_FORMAT = "ragwright-eval-run/1"


@dataclass(frozen=True, slots=True)
class CitedPassage:
    """One citation of a case's answer: its number, document, chunk and quoted snippet."""

    n: int
    doc: str
    chunk_id: str
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "doc": self.doc, "chunk_id": self.chunk_id, "snippet": self.snippet}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CitedPassage:
        return cls(int(data["n"]), str(data["doc"]), str(data.get("chunk_id", "")), str(data.get("snippet", "")))


@dataclass(frozen=True, slots=True)
class RetrievedPassage:
    """One passage retrieved for a case: document, chunk, score and the start of its text."""

    doc: str
    chunk_id: str
    score: float
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"doc": self.doc, "chunk_id": self.chunk_id, "score": self.score, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetrievedPassage:
        return cls(str(data["doc"]), str(data.get("chunk_id", "")), float(data["score"]), str(data.get("text", "")))


@dataclass(slots=True)
class CaseRecord:
    """One case's outcome: the answer (or the pipeline error), its scores, timings and judge costs."""

    id: str
    question: str = ""
    tags: list[str] = field(default_factory=list)
    answerable: bool = True
    scores: dict[str, Score] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    """``pipeline`` (retrieval + answer) and ``eval`` (metrics), plus the answer's own stage timings."""
    judge: JudgeLedger = field(default_factory=JudgeLedger)
    error: str | None = None
    """Set when the pipeline failed on this case; the answer fields are then empty."""
    reference_answer: str | None = None
    answer: str = ""
    abstained: bool = False
    support: float = 0.0
    answerability: float | None = None
    answered_by: str = ""
    model: str | None = None
    citations: list[CitedPassage] = field(default_factory=list)
    retrieved: list[RetrievedPassage] = field(default_factory=list)
    retrieved_ids: list[str] = field(default_factory=list)

    @property
    def pipeline_ms(self) -> float:
        return float(self.timings_ms.get("pipeline", 0.0))

    def value(self, metric: str) -> float | None:
        """The metric's value on this case, None when it has none (not applicable, or an error)."""
        score = self.scores.get(metric)
        return score.value if score is not None and score.error is None else None

    def to_json(self) -> dict[str, Any]:
        head = {"id": self.id, "question": self.question, "tags": self.tags, "answerable": self.answerable}
        if self.error is not None:
            return {
                **head,
                "error": self.error,
                "scores": {k: s.to_dict() for k, s in self.scores.items()},
                "timings_ms": self.timings_ms,
                "judge": self.judge.to_dict(),
            }
        return {
            **head,
            "reference_answer": self.reference_answer,
            "answer": self.answer,
            "abstained": self.abstained,
            "support": self.support,
            "answerability": self.answerability,
            "answered_by": self.answered_by,
            "model": self.model,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [r.to_json() for r in self.retrieved],
            "retrieved_ids": self.retrieved_ids,
            "scores": {k: s.to_dict() for k, s in self.scores.items()},
            "timings_ms": self.timings_ms,
            "judge": self.judge.to_dict(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        judge = data.get("judge") or {}
        answerability = data.get("answerability")
        return cls(
            id=str(data["id"]),
            question=str(data.get("question", "")),
            tags=list(data.get("tags") or []),
            answerable=bool(data.get("answerable", True)),
            scores={k: Score.from_dict(v) for k, v in (data.get("scores") or {}).items()},
            timings_ms={k: float(v) for k, v in (data.get("timings_ms") or {}).items()},
            judge=JudgeLedger(**{k: judge[k] for k in _LEDGER_FIELDS if k in judge}),
            error=data.get("error"),
            reference_answer=data.get("reference_answer"),
            answer=str(data.get("answer") or ""),
            abstained=bool(data.get("abstained", False)),
            support=float(data.get("support") or 0.0),
            answerability=None if answerability is None else float(answerability),
            answered_by=str(data.get("answered_by") or ""),
            model=data.get("model"),
            citations=[CitedPassage.from_json(c) for c in data.get("citations") or []],
            retrieved=[RetrievedPassage.from_json(r) for r in data.get("retrieved") or []],
            retrieved_ids=[str(d) for d in data.get("retrieved_ids") or []],
        )


_LEDGER_FIELDS = ("calls", "cached", "input_tokens", "output_tokens", "cost_usd", "cost_unknown")


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over a set of cases: the mean of its values, how many had one, how many errored, and examples."""

    mean: float | None
    n: int
    errors: int
    error_examples: tuple[str, ...] = ()

    def to_json(self, *, examples: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"mean": self.mean, "n": self.n, "errors": self.errors}
        if examples:
            out["error_examples"] = list(self.error_examples)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetricSummary:
        mean = data.get("mean")
        return cls(
            None if mean is None else float(mean),
            int(data.get("n", 0)),
            int(data.get("errors", 0)),
            tuple(data.get("error_examples") or ()),
        )


@dataclass(frozen=True, slots=True)
class TagSummary:
    """The cases carrying one tag and their per-metric summaries."""

    cases: int
    metrics: dict[str, MetricSummary]

    def to_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "metrics": {k: m.to_json(examples=False) for k, m in self.metrics.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TagSummary:
        metrics = data.get("metrics") or {}
        return cls(int(data.get("cases", 0)), {k: MetricSummary.from_json(v) for k, v in metrics.items()})


@dataclass(frozen=True, slots=True)
class Latency:
    """Pipeline latency percentiles in milliseconds."""

    p50: float = 0.0
    p95: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"p50": self.p50, "p95": self.p95}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Latency:
        return cls(float(data.get("p50", 0.0)), float(data.get("p95", 0.0)))


@dataclass(frozen=True, slots=True)
class JudgeSummary:
    """What the judge cost over a run: calls, cache hits, tokens and USD, in total and per 1,000 questions."""

    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_unknown_calls: int = 0
    tokens_per_1k_questions: float = 0.0
    cost_per_1k_questions_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _JUDGE_SUMMARY_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JudgeSummary:
        return cls(**{name: data[name] for name in _JUDGE_SUMMARY_FIELDS if name in data})


_JUDGE_SUMMARY_FIELDS = tuple(JudgeSummary.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run folded up: case and error counts, abstentions, per-metric and per-tag summaries, latency, judge cost."""

    cases: int
    pipeline_errors: int = 0
    pipeline_error_examples: tuple[str, ...] = ()
    abstained: int = 0
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    latency_ms: Latency = field(default_factory=Latency)
    judge: JudgeSummary = field(default_factory=JudgeSummary)
    by_tag: dict[str, TagSummary] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "pipeline_errors": self.pipeline_errors,
            "pipeline_error_examples": list(self.pipeline_error_examples),
            "abstained": self.abstained,
            "metrics": {k: m.to_json() for k, m in self.metrics.items()},
            "latency_ms": self.latency_ms.to_json(),
            "judge": self.judge.to_json(),
            "by_tag": {k: t.to_json() for k, t in self.by_tag.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        return cls(
            cases=int(data.get("cases", 0)),
            pipeline_errors=int(data.get("pipeline_errors", 0)),
            pipeline_error_examples=tuple(data.get("pipeline_error_examples") or ()),
            abstained=int(data.get("abstained", 0)),
            metrics={k: MetricSummary.from_json(v) for k, v in (data.get("metrics") or {}).items()},
            latency_ms=Latency.from_json(data.get("latency_ms") or {}),
            judge=JudgeSummary.from_json(data.get("judge") or {}),
            by_tag={k: TagSummary.from_json(v) for k, v in (data.get("by_tag") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class RunTiming:
    """How a run went: cases run now and resumed, wall and pipeline seconds, concurrency, judge calls."""

    cases_run_now: int = 0
    resumed: int = 0
    wall_s: float = 0.0
    pipeline_s: float = 0.0
    concurrency: int = 1
    judge_calls: int = 0
    judge_cache_hits: int = 0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _TIMING_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunTiming:
        return cls(**{name: data[name] for name in _TIMING_FIELDS if name in data})


_TIMING_FIELDS = tuple(RunTiming.__dataclass_fields__)


@dataclass(slots=True)
class EvalRun:
    """One eval run as written to ``run.json``: what was run under which configuration, its cases and summary."""

    name: str
    cases: list[CaseRecord]
    summary: RunSummary
    dataset: str = ""
    finished_at: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    """The settings sections the run used (``embedding``, ``retrieval``, ``answer``), as dumped, plus the judge."""
    prompt_versions: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    judge_note: str | None = None
    timing: RunTiming = field(default_factory=RunTiming)
    format: str = RUN_FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "name": self.name,
            "dataset": self.dataset,
            "finished_at": self.finished_at,
            "config": self.config,
            "prompt_versions": self.prompt_versions,
            "fingerprint": self.fingerprint,
            "judge_note": self.judge_note,
            "timing": self.timing.to_json(),
            "summary": self.summary.to_json(),
            "cases": [c.to_json() for c in self.cases],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRun:
        return cls(
            format=str(data.get("format", RUN_FORMAT)),
            name=str(data.get("name", "")),
            dataset=str(data.get("dataset") or ""),
            finished_at=str(data.get("finished_at") or ""),
            config=dict(data.get("config") or {}),
            prompt_versions=dict(data.get("prompt_versions") or {}),
            fingerprint=str(data.get("fingerprint") or ""),
            judge_note=data.get("judge_note"),
            timing=RunTiming.from_json(data.get("timing") or {}),
            summary=RunSummary.from_json(data.get("summary") or {}),
            cases=[CaseRecord.from_json(c) for c in data.get("cases") or []],
        )
