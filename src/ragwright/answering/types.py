"""What an answer is: text with ``[n]`` markers, the citations they point to, and whether ragwright abstained."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # features imports evidence, which imports this module
    from ragwright.answering.features import AnswerabilityFeatures


@dataclass(frozen=True, slots=True)
class Citation:
    """``[n]`` in the answer: the passage it points to and the exact supporting span in the source document."""

    n: int
    doc_path: str
    chunk_id: str
    char_start: int
    char_end: int
    snippet: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    title: str = ""

    @property
    def location(self) -> str:
        """``docs/guide.md › Install › Linux`` or ``manual.pdf › page 3``."""
        parts = [self.doc_path, *self.heading_path]
        if self.page is not None:
            parts.append(f"page {self.page}")
        return " › ".join(parts)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One passage the retriever handed to the answerer, in rank order (for evaluation and debugging)."""

    doc_path: str
    chunk_id: str
    score: float
    text: str = ""


@dataclass(slots=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    support: float
    """How well the best evidence supports the answer, 0..1; abstention happens under the configured threshold."""
    answered_by: str
    """'extractive', the ``provider:model`` that wrote it (e.g. 'local:smollm2'), or 'none' when abstaining."""
    closest: list[Citation] = field(default_factory=list)
    """When abstaining: the nearest passages, so the user sees what the documents do say."""
    flagged: list[str] = field(default_factory=list)
    """Generated sentences dropped because no evidence supported them."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    retrieved: list[Retrieved] = field(default_factory=list)
    """The passages retrieval returned for this question, best first."""
    cost_usd: float | None = None
    """What the model call cost (None: extractive, or a model with no known price)."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tokens of the model call: input, cached_input, output, reasoning."""
    answerability: float | None = None
    """Calibrated probability that the documents hold the answer (``answering/answerability.py``); ragwright
    abstains under the operating point."""
    features: AnswerabilityFeatures | None = None
    """The evidence features the answerability was computed from."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for group in ("citations", "closest"):
            for cite, obj in zip(data[group], getattr(self, group), strict=True):
                cite["location"] = obj.location
                cite["heading_path"] = list(obj.heading_path)
        return data
