"""Timeout: total deadline for chat, first-token and total deadlines for streams.

Real time, so the margins are wide: what must finish in time has a deadline of a second or more (a loaded 2-core
machine can leave a process unscheduled for tens of milliseconds), and what must time out waits far longer than that.
"""

from __future__ import annotations

import pytest
from policy_helpers import request

from ragwright.errors import ProviderTimeout, StreamInterrupted
from ragwright.gateway import collect
from ragwright.gateway.policies.timeout import Timeout
from ragwright.testing import FakeChatModel, Reply


async def test_chat_within_total_passes_and_past_it_raises_total() -> None:
    model = Timeout(
        FakeChatModel(["fast", Reply("slow", delay=60)], name="fake:a"), connect=1, first_token=1, total=1.0
    )
    assert (await model.chat(request())).text == "fast"
    with pytest.raises(ProviderTimeout) as err:
        await model.chat(request())
    assert err.value.phase == "total" and err.value.provider == "fake:a" and err.value.transient


async def test_stream_slow_first_token_raises_first_token_phase() -> None:
    model = Timeout(FakeChatModel([Reply("a b c", delay=60)]), first_token=0.03, total=120)
    with pytest.raises(ProviderTimeout) as err:
        await collect(model.stream(request()))
    assert err.value.phase == "first_token"


async def test_stream_past_total_after_first_chunk_is_an_interruption() -> None:
    # the first chunk at once, then one a second: the 1.5 s total ends the stream after one or two chunks of five
    model = Timeout(FakeChatModel([Reply("a b c d e", chunk_delay=1.0)]), first_token=5, total=1.5)
    seen: list[str] = []
    with pytest.raises(StreamInterrupted) as err:
        async for chunk in model.stream(request()):
            seen.append(chunk.delta)
    assert seen and seen[0] == "a" and len(seen) < 5
    assert isinstance(err.value.cause, ProviderTimeout) and err.value.cause.phase == "total"


async def test_stream_in_time_is_untouched() -> None:
    model = Timeout(FakeChatModel(["one two three"]), first_token=5, total=5)
    reply = await collect(model.stream(request()))
    assert reply.text == "one two three" and reply.finish_reason == "stop"


async def test_other_errors_after_the_first_chunk_become_interruptions() -> None:
    from collections.abc import AsyncIterator

    from ragwright.errors import ProviderProtocolError
    from ragwright.gateway import ChatRequest, Chunk

    class Garbled:
        name = "fake:garbled"

        async def chat(self, request: ChatRequest) -> object:
            raise NotImplementedError

        async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
            yield Chunk(delta="half")
            raise ProviderProtocolError("bad SSE line", provider=self.name)

    with pytest.raises(StreamInterrupted) as err:
        await collect(Timeout(Garbled(), first_token=1, total=1).stream(request()))  # type: ignore[arg-type]
    assert isinstance(err.value.cause, ProviderProtocolError)
