"""Answers streamed one verified sentence at a time.

The model's output is read as it streams; each sentence is cut off as soon as the next one begins, verified against
the evidence (:meth:`Asker.verify`: relevant support, no echo of a passage that may not answer, numbers and negation
agree) and sent if it passes, so the first sentence reaches the client while the model is still writing, and no text
that verification would remove is ever shown. Extractive answers (and abstentions) come out the same way, one event
per sentence. The last event is :class:`Done` with the whole :class:`Answer`.

Example::

    async for event in stream_answer(asker, "acme", "How loud is it?", stream=gateway_stream):
        if isinstance(event, SentenceEvent):
            print(event.text)          # "The outdoor unit runs at 38 dB in night mode. [1]"
        else:
            answer = event.answer
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import anyio.to_thread

from ragwright.answering import generative
from ragwright.answering.conversation import Turn
from ragwright.answering.sentences import split_sentences
from ragwright.answering.service import Asker, GeneratorName, Prepared, usage_of
from ragwright.answering.types import Answer, Citation
from ragwright.errors import StreamInterrupted
from ragwright.gateway.types import ChatRequest, Chunk, RequestContext, Usage
from ragwright.store.base import Filters

__all__ = ["Done", "SentenceEvent", "StreamEvent", "stream_answer"]

T = TypeVar("T")
StreamFn = Callable[[ChatRequest], AsyncIterator[Chunk]]
"""Streams a request through the gateway (``lambda r: sync_gateway.stream(gateway.model(r.model), r)``)."""
ToThread = Callable[..., Awaitable[Any]]
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class SentenceEvent:
    """One verified sentence, with ``[n]`` markers numbered for the whole answer, and the citations it adds."""

    text: str
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Done:
    """The stream's end: the complete answer (the same one a non-streaming call returns)."""

    answer: Answer


StreamEvent = SentenceEvent | Done


async def _default_to_thread(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


async def stream_answer(
    asker: Asker,
    tenant: str,
    question: str,
    *,
    filters: Filters | None = None,
    generator: GeneratorName | None = None,
    history: Sequence[Turn] = (),
    stream: StreamFn | None = None,
    to_thread: ToThread = _default_to_thread,
    caller: RequestContext | None = None,
) -> AsyncIterator[StreamEvent]:
    """Events for one question; blocking steps (retrieval, scoring, verification) run through ``to_thread``;
    ``caller`` is who asks (see :meth:`Asker.prepare`)."""
    p: Prepared = await to_thread(
        lambda: asker.prepare(tenant, question, filters=filters, generator=generator, history=history, caller=caller)
    )
    if p.abstained is not None:
        yield Done(p.abstained)
        return
    request = asker.model_request(p) if stream is not None else None
    if request is None or stream is None:
        answer = await to_thread(asker.extractive, p)
        for event in _sentences_of(answer):
            yield event
        yield Done(answer)
        return
    state = _Verified()
    clock = time.perf_counter()
    buffer = ""
    usage: Usage | None = None
    cost: float | None = None
    model = request.model
    async for chunk in stream(request):
        if chunk.finish_reason == "error":
            raise StreamInterrupted("the model reported an error mid-stream", provider=chunk.model or None)
        model = chunk.model or model
        usage = chunk.usage or usage
        cost = chunk.cost_usd if chunk.cost_usd is not None else cost
        buffer += chunk.delta or ""
        spans = split_sentences(buffer)
        while len(spans) >= 2:  # the first sentence is complete once the next one has begun
            s, e = spans[0]
            sentence, buffer = buffer[s:e], buffer[spans[1][0] :]
            event = await to_thread(state.verify, asker, p, sentence)
            if event is not None:
                yield event
            spans = split_sentences(buffer)
    if buffer.strip():
        event = await to_thread(state.verify, asker, p, buffer.strip())
        if event is not None:
            yield event
    p.timings["generate"] = (time.perf_counter() - clock) * 1000.0
    checked = generative.Checked(
        text=" ".join(state.kept),
        citations=state.citations,
        dropped=state.dropped,
        model_abstained=state.model_abstained,
    )
    answer = asker.from_model(p, checked, model, usage_of(usage) if usage else {}, cost)
    if not state.kept and not answer.abstained:  # nothing the model wrote held: the extractive answer instead
        for event in _sentences_of(answer):
            yield event
    yield Done(answer)


@dataclass(slots=True)
class _Verified:
    """What has been verified so far: kept sentences with markers numbered across the whole answer."""

    kept: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    model_abstained: bool = False

    def verify(self, asker: Asker, p: Prepared, sentence: str) -> SentenceEvent | None:
        checked = asker.verify(p, sentence)
        self.dropped += checked.dropped
        self.model_abstained = self.model_abstained or checked.model_abstained
        if not checked.text:
            return None
        local = {c.n: self.numbers.setdefault(c.chunk_id, len(self.numbers) + 1) for c in checked.citations}
        text = _MARKER.sub(lambda m: f"[{local.get(int(m.group(1)), m.group(1))}]", checked.text)
        added = [_renumber(c, local[c.n]) for c in checked.citations]
        self.kept.append(text)
        self.citations += added
        return SentenceEvent(text, added)


def _renumber(c: Citation, n: int) -> Citation:
    return replace(c, n=n)


def _sentences_of(answer: Answer) -> list[SentenceEvent]:
    """An already complete answer as sentence events: each quoted sentence with its citation."""
    if answer.abstained or not answer.citations:
        return [SentenceEvent(answer.text)]
    events: list[SentenceEvent] = []
    rest = answer.text
    for c in answer.citations:
        piece = f"{c.snippet} [{c.n}]"
        if rest.startswith(piece):
            events.append(SentenceEvent(piece, [c]))
            rest = rest[len(piece) :].lstrip()
    return events if not rest else [SentenceEvent(answer.text, list(answer.citations))]
