"""The gateway's one seam: :class:`ChatModel`. Providers implement it; every policy wraps one and is one.

Example::

    model = Fallback([Retry(Breaker(Timeout(openai))), local])
    reply = await model.chat(ChatRequest(model="rag", messages=(Message("user", "Hi"),)))
    async for chunk in model.stream(request):
        print(chunk.delta, end="")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message, ToolCall, Usage


@runtime_checkable
class ChatModel(Protocol):
    """A chat model. ``name`` is its ``provider:model`` spec (or a policy's description of what it wraps).

    ``stream`` is an async generator: iterate it with ``async for``. A failure before the first chunk raises the
    error itself (so a fallback can move on); a failure after it raises :class:`~ragwright.errors.StreamInterrupted`.
    ``aclose`` releases what the model owns (a policy closes what it wraps); whoever built the model calls it once.
    """

    @property
    def name(self) -> str: ...  # read-only here, so policies (whose name is a property) are ChatModels too

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]: ...

    async def aclose(self) -> None: ...


class ModelSource(Protocol):
    """Model names to :class:`ChatModel` s: what the front ends (``ask``, chat completions, the proxy) need from the
    gateway. :class:`~ragwright.gateway.build.Gateway` is one; ``ragwright.testing.ScriptedGateway`` is another.

    ``model`` raises :class:`~ragwright.errors.UnknownModel` for a name it cannot serve; ``models`` lists the names a
    front end offers (and the only ones it should ask for); ``aclose`` closes every model built.
    """

    def model(self, name: str) -> ChatModel: ...

    def models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class WrapperModel:
    """Base for policies: delegates everything to ``inner``; subclasses override what they change."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_window(self) -> int | None:
        return context_window(self.inner)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self.inner.chat(request)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def context_window(model: object) -> int | None:
    """The model's context window in tokens, if it declares one (``context_window`` attribute)."""
    value = getattr(model, "context_window", None)
    return value if isinstance(value, int) else None


async def collect(chunks: AsyncIterator[Chunk], *, model: str = "") -> ChatResponse:
    """Fold a stream into the response ``chat`` would have returned (text, tool calls, usage, cost)."""
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    finish = "stop"
    usage = Usage()
    cost: float | None = None
    name = model
    cached = False
    async for chunk in chunks:
        text.append(chunk.delta)
        for d in chunk.tool_calls:
            slot = calls.setdefault(d.index, ["", "", ""])
            slot[0] = d.id or slot[0]
            slot[1] = d.name or slot[1]
            slot[2] += d.arguments
        if chunk.finish_reason is not None:
            finish = chunk.finish_reason
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.cost_usd is not None:
            cost = chunk.cost_usd
        name = chunk.model or name
        cached = cached or chunk.cached
    tool_calls = tuple(ToolCall(id=c[0], name=c[1], arguments=c[2] or "{}") for _, c in sorted(calls.items()))
    message = Message("assistant", "".join(text) or None, tool_calls=tool_calls)
    return ChatResponse(
        model=name,
        message=message,
        finish_reason=finish,  # type: ignore[arg-type]
        usage=usage,
        cost_usd=cost,
        cached=cached,
    )


async def as_stream(response: ChatResponse) -> AsyncIterator[Chunk]:
    """A finished response replayed as a one-chunk stream (for cache hits and non-streaming providers)."""
    from ragwright.gateway.types import ToolCallDelta

    deltas = tuple(
        ToolCallDelta(index=i, id=c.id, name=c.name, arguments=c.arguments)
        for i, c in enumerate(response.message.tool_calls)
    )
    yield Chunk(
        delta=response.text,
        tool_calls=deltas,
        finish_reason=response.finish_reason,
        usage=response.usage,
        cost_usd=response.cost_usd,
        model=response.model,
        cached=response.cached,
    )
