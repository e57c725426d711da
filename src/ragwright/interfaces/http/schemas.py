"""Request and response bodies of the HTTP API (they are also the OpenAPI schema at ``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragwright.answering.types import AbstentionReason, AnsweredBy, FallbackCause
from ragwright.store.base import Filters, StoredChunk

KbName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Knowledge base (see docs/serve.md).")]


class FiltersIn(BaseModel):
    """Search filters: document id globs, file types and tags."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(default_factory=list, max_length=50, description="Globs over document ids.")
    file_types: list[str] = Field(default_factory=list, max_length=20, description="Extensions without the dot.")
    tags: list[str] = Field(default_factory=list, max_length=50, description="Documents with any of these tags.")

    def to_filters(self) -> Filters:
        return Filters(paths=tuple(self.paths), file_types=tuple(self.file_types), tags=tuple(self.tags))


class SearchIn(BaseModel):
    """The body of ``POST /v1/search``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000)
    knowledge_base: KbName = "default"
    k: int = Field(10, ge=1, le=100)
    mode: Literal["bm25", "dense", "hybrid"] | None = None
    filters: FiltersIn | None = None


class HitOut(BaseModel):
    """One ranked passage with its score and location (heading path, page, character span)."""

    rank: int
    score: float
    doc_id: str
    chunk_id: str
    title: str
    heading_path: list[str]
    page: int | None
    char_start: int
    char_end: int
    text: str
    injection: Literal["override", "role", "directive", "address"] | None = Field(
        None, description="Set when the passage addresses the assistant (flagged at ingest); never used to answer."
    )


class SearchOut(BaseModel):
    """The ranked passages for a query."""

    object: Literal["search_result"] = "search_result"
    query: str
    mode: str
    knowledge_base: str
    hits: list[HitOut]
    timings_ms: dict[str, float]


class TurnIn(BaseModel):
    """One earlier message of a conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class AnswerIn(BaseModel):
    """The body of ``POST /v1/answer``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    knowledge_base: KbName = "default"
    filters: FiltersIn | None = None
    stream: bool = Field(False, description="Server-sent events: citations, text deltas, then the whole answer.")
    history: list[TurnIn] = Field(
        default_factory=list,
        max_length=20,
        description="Earlier turns of the conversation, oldest first: a follow-up is rewritten with them before "
        "retrieval.",
    )


class CitationOut(BaseModel):
    """One cited passage of an answer."""

    n: int
    doc_id: str
    chunk_id: str
    location: str
    title: str
    heading_path: list[str]
    page: int | None
    char_start: int
    char_end: int
    snippet: str


class FallbackOut(BaseModel):
    """Why a model was asked but the extractive answerer answered."""

    cause: FallbackCause
    model: str
    error: str | None = None
    detail: str = ""


class PromptRefOut(BaseModel):
    """A versioned prompt: its name and immutable version."""

    name: str
    version: str


class AnswerOut(BaseModel):
    """A cited answer, or an abstention with the closest passages."""

    object: Literal["answer"] = "answer"
    question: str
    knowledge_base: str
    text: str
    abstained: bool
    support: float
    answered_by: AnsweredBy
    """extractive | local | gateway | abstained (before 0.2: a free-text label such as 'local:smollm2')."""
    model: str | None = None
    """The provider:model that wrote the answer, or that abstained."""
    abstention: AbstentionReason | None = None
    fallback: FallbackOut | None = None
    """Set when a model was asked but the extractive answerer answered."""
    model_abstained: bool = False
    citations: list[CitationOut]
    closest: list[CitationOut]
    flagged: list[str]
    timings_ms: dict[str, float]
    answerability: float | None = None
    """Calibrated probability (0..1) that the documents hold the answer; ragwright abstains under its threshold."""
    prompt: PromptRefOut | None = None
    """The versioned ``answer`` prompt a model wrote with (None: extractive)."""
    rewritten_question: str | None = None
    """A follow-up rewritten with the conversation: what was retrieved and answered."""
    trace_id: str | None = None
    """The request's trace (``ragwright traces show``), when tracing is on."""


class DocumentOut(BaseModel):
    """One indexed document."""

    object: Literal["document"] = "document"
    id: str
    knowledge_base: str
    file_type: str
    title: str
    chunks: int
    tags: list[str]
    ingested_at: float


class DocumentList(BaseModel):
    """One page of documents in id order (OpenAI's list object): pass ``next_cursor`` as ``after`` for the next."""

    object: Literal["list"] = "list"
    data: list[DocumentOut]
    has_more: bool = Field(False, description="Whether documents follow this page.")
    next_cursor: str | None = Field(None, description="Opaque; the `after` of the next page, null on the last page.")


class TagsIn(BaseModel):
    """The body of ``PATCH /v1/documents/{id}``: the document's new tags (replacing the old ones)."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(max_length=50, description="1-128 of A-Z a-z 0-9 _ . : - each.")


class ChunkOut(BaseModel):
    """One chunk of a document as stored: its place in the document and its text."""

    id: str
    ordinal: int
    heading_path: list[str]
    page: int | None
    char_start: int
    char_end: int
    tokens: int
    text: str
    injection: Literal["override", "role", "directive", "address"] | None = Field(
        None, description="Set when the passage addresses the assistant (flagged at ingest); never used to answer."
    )

    @classmethod
    def from_stored(cls, stored: StoredChunk) -> ChunkOut:
        c = stored.chunk
        return cls(
            id=c.id,
            ordinal=c.ordinal,
            heading_path=list(c.heading_path),
            page=c.page,
            char_start=c.char_start,
            char_end=c.char_end,
            tokens=c.n_tokens,
            text=c.text,
            injection=stored.injection.value if stored.injection is not None else None,
        )


class DocumentChunksOut(BaseModel):
    """A document and its chunks in document order."""

    document: DocumentOut
    chunks: list[ChunkOut]


class Deleted(BaseModel):
    """The result of deleting a document."""

    id: str
    object: Literal["document"] = "document"
    deleted: bool = True


class JobProgress(BaseModel):
    """Files and chunks an ingest job has done so far."""

    files_done: int
    files_total: int
    chunks_embedded: int


class JobOut(BaseModel):
    """An ingest job: status, progress, result or error."""

    id: str
    object: Literal["job"] = "job"
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    knowledge_base: str
    files: list[str]
    tags: list[str]
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: JobProgress
    result: dict[str, Any] | None = Field(description="The ingest summary; `failures` lists each bad file's reason.")
    error: str | None
    attempts: int = Field(0, description="Attempts started (a failed or interrupted attempt on the queue is retried).")
    dead_letter: bool = Field(False, description="Failed for good after its last retry (the queue's dead letters).")


class JobList(BaseModel):
    """The key's newest ingest jobs, newest first (OpenAI's list object)."""

    object: Literal["list"] = "list"
    data: list[JobOut]


class ContentPart(BaseModel):
    """One part of a multi-part chat message (only text parts are read)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=64)
    text: str | None = None


class ChatMessageIn(BaseModel):
    """One message of a chat completions request."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(None, max_length=256)
    tool_call_id: str | None = Field(None, max_length=256)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or () if p.type in ("text", "input_text"))


class StreamOptions(BaseModel):
    """OpenAI's ``stream_options``: ``include_usage`` adds a final usage chunk."""

    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    """The OpenAI chat completions request; fields ragwright does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256, description="`rag:<knowledge-base>` or a gateway model name.")
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=1_000_000)
    stop: str | list[str] | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None


class AssistantMessage(BaseModel):
    """The assistant message of a chat completion."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None


class ChoiceOut(BaseModel):
    """One choice of a chat completion."""

    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class UsageOut(BaseModel):
    """Token counts of a chat completion."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    """OpenAI's chat.completion; ``rag:`` models add ``citations`` and ``abstained``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    citations: list[CitationOut] | None = None
    abstained: bool | None = None


class ModelOut(BaseModel):
    """One model ``/v1/models`` lists."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models ``/v1/models`` lists."""

    object: Literal["list"] = "list"
    data: list[ModelOut]


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``type`` and a human-readable ``message``."""

    type: str
    message: str


class ErrorOut(BaseModel):
    """Every error response: ``{"error": {"type", "message"}}``."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": desc}
    for code, desc in {
        400: "Bad request",
        401: "Missing or invalid API key",
        403: "The key lacks the scope",
        404: "Not found",
        413: "Body too large",
        422: "Invalid request",
        429: "Rate limited",
        503: "Unavailable or timed out",
    }.items()
}
