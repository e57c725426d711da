"""`FakeChatModel`: a scripted :class:`~ragwright.gateway.base.ChatModel` for tests, evals and benchmarks.

Each call takes the next step of the script. A step is

- a ``str``: the reply text;
- a :class:`Reply`: text plus usage, tool calls, delay, or a stream cut after N chunks;
- a :class:`~ragwright.errors.GatewayError` instance: raised (before any chunk, for ``stream``);
- a callable ``(ChatRequest) -> step``: computed from the request (e.g. a judge that reads its input).

A list script that runs out raises ``AssertionError`` (the code called the model more often than the test expected)
unless ``cycle=True``. Usage is counted in whitespace words unless the step gives it, and cost comes from the price
table when one is given, so cost assertions are exact.

Example::

    model = FakeChatModel(["Paris [1].", ProviderHTTPError(503)], name="fake:a")
    (await model.chat(req)).text        # "Paris [1]."
    await model.chat(req)               # raises ProviderHTTPError(503)
    model.requests                      # both requests, in order
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

from ragwright.errors import GatewayError, StreamInterrupted, UnknownModel
from ragwright.gateway.base import ChatModel
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import (
    ChatRequest,
    ChatResponse,
    Chunk,
    Message,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from ragwright.redact import quote_id

__all__ = ["FakeChatModel", "Reply", "ScriptedGateway"]


@dataclass(frozen=True)
class Reply:
    """One scripted reply of a :class:`FakeChatModel`: text, usage, tool calls, delays, stream faults."""

    text: str = ""
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    delay: float = 0.0
    """Seconds before the reply (or before the first chunk, for streams)."""
    chunk_delay: float = 0.0
    cut_after: int | None = None
    """Streams only: raise StreamInterrupted after this many text chunks (at least 1), before the final chunk."""
    finish_reason: str = "stop"
    hold: asyncio.Event | threading.Event | None = None
    """Streams only: after ``hold_after`` text chunks, wait until this is set (the test decides when the stream goes
    on, so it can observe what happened before the model finished; a ``threading.Event`` works across loops)."""
    hold_after: int = 1
    logprobs: tuple[TokenLogprob, ...] = ()
    """Returned on ``chat`` replies (a judge reads the probability of its first token from them)."""


Step = str | Reply | GatewayError | Callable[[ChatRequest], "Step"]


class FakeChatModel:
    """A deterministic ``ChatModel`` that plays a script of replies and errors, recording requests."""

    def __init__(
        self,
        script: Sequence[Step] | Callable[[ChatRequest], Step] = (),
        *,
        name: str = "fake:model",
        cycle: bool = False,
        prices: PriceTable | None = None,
        context_window: int | None = None,
    ) -> None:
        self.name = name
        self.context_window = context_window
        self._fn: Callable[[ChatRequest], Step] | None = script if callable(script) else None
        self._steps = list(script) if not callable(script) else []
        self._iter = itertools.cycle(self._steps) if cycle and self._steps else iter(self._steps)
        self._prices = prices
        self.requests: list[ChatRequest] = []
        self.closed = False

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _next(self, request: ChatRequest) -> Reply | GatewayError:
        self.requests.append(request)
        if self._fn is not None:
            step: Step = self._fn(request)
        else:
            try:
                step = next(self._iter)
            except StopIteration:
                raise AssertionError(
                    f"FakeChatModel {self.name} script exhausted after {len(self._steps)} steps"
                ) from None
        while callable(step) and not isinstance(step, (GatewayError, Reply)):
            step = step(request)
        if isinstance(step, str):
            return Reply(step)
        return step

    def _usage(self, request: ChatRequest, reply: Reply) -> Usage:
        if reply.usage is not None:
            return reply.usage
        return Usage(input_tokens=len(request.prompt_text.split()), output_tokens=len(reply.text.split()))

    def _cost(self, usage: Usage) -> float | None:
        return self._prices.cost(self.name, usage) if self._prices is not None else None

    async def aclose(self) -> None:
        self.closed = True

    async def chat(self, request: ChatRequest) -> ChatResponse:
        reply = self._next(request)
        if isinstance(reply, GatewayError):
            raise reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        usage = self._usage(request, reply)
        finish = "tool_calls" if reply.tool_calls else reply.finish_reason
        return ChatResponse(
            model=self.name,
            message=Message("assistant", reply.text or None, tool_calls=reply.tool_calls),
            finish_reason=finish,  # type: ignore[arg-type]
            usage=usage,
            cost_usd=self._cost(usage),
            id=f"fake-{uuid.uuid4().hex[:12]}",
            logprobs=reply.logprobs,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        reply = self._next(request)
        if isinstance(reply, GatewayError):
            raise reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        words = reply.text.split(" ") if reply.text else []
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        for i, piece in enumerate(pieces):
            if reply.cut_after is not None and i >= max(reply.cut_after, 1):
                raise StreamInterrupted(f"{self.name}: stream cut after {i} chunks", provider=self.name)
            if reply.chunk_delay and i:
                await asyncio.sleep(reply.chunk_delay)
            if reply.hold is not None and i == reply.hold_after:
                await _wait(reply.hold)
            yield Chunk(delta=piece, model=self.name)
        if reply.cut_after is not None:
            raise StreamInterrupted(f"{self.name}: stream cut before its final chunk", provider=self.name)
        deltas = tuple(ToolCallDelta(i, c.id, c.name, c.arguments) for i, c in enumerate(reply.tool_calls))
        usage = self._usage(request, reply)
        yield Chunk(
            tool_calls=deltas,
            finish_reason="tool_calls" if deltas else reply.finish_reason,  # type: ignore
            usage=usage,
            cost_usd=self._cost(usage),
            model=self.name,
        )


class ScriptedGateway:
    """A :class:`~ragwright.gateway.base.ModelSource` over named models (usually :class:`FakeChatModel` s), for
    front ends under test: the proxy, the HTTP service and ``Ragwright`` take it where they take the real gateway.

    The mapping is used as given, so a test may add models after handing it over.

    Example::

        models = {"fake:m": FakeChatModel(["Hi"], name="fake:m")}
        app = create_app(settings, gateway=ScriptedGateway(models))
        models["fake:late"] = FakeChatModel(["later"], name="fake:late")
    """

    def __init__(self, models: Mapping[str, ChatModel] | None = None) -> None:
        self.by_name: Mapping[str, ChatModel] = models if models is not None else {}
        self.closed = False

    def model(self, name: str) -> ChatModel:
        if name not in self.by_name:
            raise UnknownModel(f"unknown model {quote_id(name)}", name=name)
        return self.by_name[name]

    def models(self) -> list[str]:
        return list(self.by_name)

    async def aclose(self) -> None:
        for model in self.by_name.values():
            await model.aclose()
        self.closed = True


async def _wait(event: asyncio.Event | threading.Event) -> None:
    if isinstance(event, asyncio.Event):
        await event.wait()
    else:
        await asyncio.to_thread(event.wait, 60.0)
