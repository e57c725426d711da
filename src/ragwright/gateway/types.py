"""What flows through the gateway: requests, responses, stream chunks and token usage.

Plain frozen dataclasses, independent of any provider's wire format: each provider adapter translates to and from its
own API, and each policy reads and writes only these.

Token accounting is normalised across providers (OpenAI counts cached tokens inside ``prompt_tokens``; Anthropic
reports them beside ``input_tokens``):

- ``Usage.input_tokens`` is **all** input tokens, ``cached_input_tokens`` the part served from the provider's cache,
  ``cache_write_tokens`` the part written to it (Anthropic; billed above the input rate), ``cache_write_1h_tokens``
  the part of those writes kept for an hour (billed higher still);
- ``Usage.output_tokens`` is **all** output tokens, ``reasoning_tokens`` the part spent on hidden reasoning.

Example::

    req = ChatRequest(model="openai:gpt-4o-mini", messages=(Message("user", "Hi"),), max_tokens=32)
    resp = await model.chat(req)
    resp.text, resp.usage.output_tokens, resp.cost_usd
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asks for; ``arguments`` is the JSON text the model wrote."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: role, text content, tool calls or the tool result it answers."""

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    """For ``role="tool"``: the id of the call this message answers."""
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; ``parameters`` is a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Ask for JSON output; with ``json_schema`` the reply must validate against it."""

    json_schema: dict[str, Any] | None = None
    name: str = "response"
    strict: bool = True


@dataclass(frozen=True, slots=True)
class PromptRef:
    """Which versioned prompt produced a request: recorded on spans, usage rows and eval runs, never sent."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who is asking: used by rate limits, budgets, cache scoping and the usage ledger, never sent to a provider."""

    tenant: str = "default"
    key_id: str | None = None
    tags: tuple[str, ...] = ()
    retrieval_confidence: float | None = None
    """Set by the ask pipeline; the router treats weak evidence as a harder question."""
    prompt: PromptRef | None = None
    """The prompt (name and version) the request was rendered from, when it came from a prompt."""
    kb: str | None = None
    """The knowledge base an answer was drawn from (``tenant`` stays the tenant: budgets and limits are per tenant)."""
    request_id: str | None = None
    """The front door's request id (``X-Request-Id``): the usage rows of one question share it."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call. ``model`` is a ``provider:model`` spec or a configured alias; a provider receives its own name."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None
    """'auto', 'none', 'required' or a tool name."""
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    top_logprobs: int | None = None
    """Ask for each generated token's log-probability and this many alternatives (0-20), where the provider returns
    them (OpenAI-compatible servers); others ignore it and reply with no ``logprobs``."""
    context: RequestContext = field(default_factory=RequestContext)

    def replace(self, **changes: Any) -> ChatRequest:
        return dataclasses.replace(self, **changes)

    @property
    def prompt_text(self) -> str:
        """All message text joined: what token estimates and the semantic cache look at."""
        return "\n".join(m.content or "" for m in self.messages)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call. ``cached_input_tokens`` and ``cache_write_tokens`` are disjoint parts of
    ``input_tokens``; ``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written with a 1-hour lifetime;
    ``reasoning_tokens`` is part of ``output_tokens``."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its natural-log probability, and the most likely alternatives at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at one model, recorded on the response so callers see the fallback path."""

    model: str
    error: str | None = None
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A finished chat completion: the message, finish reason, usage, cost and the attempts that led to it."""

    model: str
    """The ``provider:model`` that produced this reply (after fallback and routing)."""
    message: Message
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    """None when the model has no price in the table (never a guessed zero)."""
    id: str = ""
    cached: bool = False
    """Served by the gateway's cache; ``saved_usd`` is what the call would have cost."""
    saved_usd: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    latency_ms: float = 0.0
    logprobs: tuple[TokenLogprob, ...] = ()
    """Per generated token, when the request asked (``top_logprobs``) and the provider returned them."""

    @property
    def text(self) -> str:
        return self.message.content or ""

    def replace(self, **changes: Any) -> ChatResponse:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call: the first piece of call ``index`` carries id and name."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One streamed piece. The last chunk has ``finish_reason`` set and carries ``usage`` and ``cost_usd``."""

    delta: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    model: str = ""
    cached: bool = False

    def replace(self, **changes: Any) -> Chunk:
        return dataclasses.replace(self, **changes)
