"""What an answer is: text with ``[n]`` markers, the citations they point to, and whether ragwright abstained."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ragwright.gateway.types import PromptRef

if TYPE_CHECKING:  # features imports evidence, which imports this module
    from ragwright.answering.features import AnswerabilityFeatures


class AnsweredBy(StrEnum):
    """Which answerer produced ``Answer.text`` (the JSON ``answered_by`` field carries the value)."""

    EXTRACTIVE = "extractive"
    """Evidence sentences quoted verbatim (the default, or the fallback when a model's answer could not be used)."""
    LOCAL = "local"
    """A model running in this process (``local:...``), through the gateway; ``Answer.model`` names it."""
    GATEWAY = "gateway"
    """A remote model reached through the gateway; ``Answer.model`` names it."""
    ABSTAINED = "abstained"
    """Nobody answered: see ``Answer.abstention`` for why."""

    @classmethod
    def for_model(cls, model: str) -> AnsweredBy:
        """LOCAL for a ``local:...`` spec, GATEWAY for any other ``provider:model``."""
        return cls.LOCAL if model.partition(":")[0] == "local" else cls.GATEWAY


class AbstentionReason(StrEnum):
    """Why ragwright abstained."""

    WEAK_EVIDENCE = "weak_evidence"
    """The best evidence was under the answerability threshold: no answerer ran."""
    MODEL = "model"
    """The model said the documents do not hold the answer (NOT IN DOCUMENTS) and wrote nothing supported."""
    NO_ACCESS = "no_access"
    """The caller may read no document of this knowledge base (or there is no index)."""


_ABSTENTION_TEXT = {
    AbstentionReason.WEAK_EVIDENCE: "the evidence is too weak",
    AbstentionReason.MODEL: "the model found no answer in the documents",
    AbstentionReason.NO_ACCESS: "no readable document",
}


class FallbackCause(StrEnum):
    """Why a model was asked but the answer is extractive."""

    MODEL_ERROR = "model_error"
    """The gateway call failed (``Fallback.error`` names the error class)."""
    NOTHING_SUPPORTED = "nothing_supported"
    """The model replied, but verification dropped every sentence it wrote (see ``Answer.flagged``)."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """A model was asked and the extractive answerer answered instead: which model, and why."""

    cause: FallbackCause
    model: str
    """The model asked (a spec or alias) or, when it replied, the ``provider:model`` that wrote the reply."""
    error: str | None = None
    """For MODEL_ERROR: the gateway error's class name, e.g. ``AllProvidersFailed``."""
    detail: str = ""
    """For MODEL_ERROR: the error's message (never holds secrets: gateway errors name references, not keys)."""

    def __str__(self) -> str:
        if self.cause is FallbackCause.MODEL_ERROR:
            return f"{self.model} failed: {self.error}: {self.detail}"
        return f"{self.model} output had no supported sentence"


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
    """A cited answer or an abstention, with who answered, why a fallback happened, timings and cost."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    support: float
    """How well the best evidence supports the answer, 0..1; abstention happens under the configured threshold."""
    answered_by: AnsweredBy
    """Which answerer wrote ``text``: extractive, a local or gateway model (``model`` names it), or abstained."""
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
    model: str | None = None
    """The ``provider:model`` that wrote the answer (LOCAL / GATEWAY), or that abstained (AbstentionReason.MODEL)."""
    abstention: AbstentionReason | None = None
    """Set exactly when ``abstained``."""
    fallback: Fallback | None = None
    """Set when a model was asked but the answer is extractive."""
    model_abstained: bool = False
    """The reply said NOT IN DOCUMENTS (even beside supported sentences): a signal for answerability."""
    answerability: float | None = None
    """Calibrated probability that the documents hold the answer (``answering/answerability.py``); ragwright
    abstains under the operating point. With a model that said NOT IN DOCUMENTS, the probability includes that."""
    features: AnswerabilityFeatures | None = None
    """The evidence features the answerability was computed from."""
    rewritten_question: str | None = None
    """A follow-up rewritten with the conversation: what was retrieved and answered (``answering/conversation.py``)."""
    prompt: PromptRef | None = None
    """The ``answer`` prompt version a model wrote (or abstained) with (``ragwright prompts``); None: extractive."""

    @property
    def answered_by_label(self) -> str:
        """One line for people: ``local:smollm2``, ``extractive (openai:gpt-4o-mini failed: ...)``,
        ``nobody: the evidence is too weak``."""
        if self.abstained:
            why = _ABSTENTION_TEXT.get(self.abstention, "abstained") if self.abstention else "abstained"
            return f"nobody: {why}{f' ({self.model})' if self.model else ''}"
        if self.model is not None and self.answered_by in (AnsweredBy.LOCAL, AnsweredBy.GATEWAY):
            return self.model
        return f"extractive ({self.fallback})" if self.fallback else str(self.answered_by)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["answered_by"] = self.answered_by.value
        data["abstention"] = self.abstention.value if self.abstention else None
        data["fallback"] = fallback_dict(self.fallback)
        for group in ("citations", "closest"):
            for cite, obj in zip(data[group], getattr(self, group), strict=True):
                cite["location"] = obj.location
                cite["heading_path"] = list(obj.heading_path)
        return data


def fallback_dict(fallback: Fallback | None) -> dict[str, Any] | None:
    """The JSON form of a fallback (``cause`` as its string value), shared by the CLI, HTTP and MCP outputs."""
    if fallback is None:
        return None
    return {"cause": fallback.cause.value, "model": fallback.model, "error": fallback.error, "detail": fallback.detail}
