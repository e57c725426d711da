"""Fallback: what moves on, what propagates, context-window skips, attempts, streams."""

from __future__ import annotations

import pytest
from policy_helpers import request

from ragwright.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContentFiltered,
    ContextLengthExceeded,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderTimeout,
    RateLimited,
    StreamInterrupted,
)
from ragwright.gateway import collect
from ragwright.gateway.policies.fallback import Fallback
from ragwright.testing import FakeChatModel, Reply


@pytest.mark.parametrize(
    "error",
    [
        ProviderHTTPError(503),
        ProviderHTTPError(429),
        ProviderHTTPError(401),
        ProviderHTTPError(404),
        ProviderTimeout("total", 1),
        ProviderConnectionError("x"),
        CircuitOpen("fake:a", retry_after=5),
        RateLimited("model:fake:a rpm"),
    ],
)
async def test_falls_back_and_records_the_path(error: Exception) -> None:
    a, b = FakeChatModel([error], name="fake:a"), FakeChatModel(["from b"], name="fake:b")
    reply = await Fallback([a, b]).chat(request())
    assert reply.text == "from b" and reply.model == "fake:b"
    assert [x.model for x in reply.attempts] == ["fake:a", "fake:b"]
    assert reply.attempts[0].error is not None and type(error).__name__ in reply.attempts[0].error
    assert reply.attempts[1].error is None


@pytest.mark.parametrize(
    "error",
    [
        ProviderHTTPError(400),
        ProviderHTTPError(422),
        ContentFiltered("no"),
        BudgetExceeded("tenant:t", remaining=0.0, resets_at=0.0),
    ],
)
async def test_request_errors_and_budget_propagate(error: Exception) -> None:
    a, b = FakeChatModel([error], name="fake:a"), FakeChatModel(["never"], name="fake:b")
    with pytest.raises(type(error)):
        await Fallback([a, b]).chat(request())
    assert b.calls == 0


async def test_first_healthy_model_answers_without_touching_the_rest() -> None:
    a, b = FakeChatModel(["from a"], name="fake:a"), FakeChatModel([], name="fake:b")
    reply = await Fallback([a, b]).chat(request())
    assert reply.model == "fake:a" and reply.attempts == () and b.calls == 0


async def test_context_length_skips_to_a_larger_window() -> None:
    small = FakeChatModel([ContextLengthExceeded("long", limit=8000)], name="fake:small", context_window=8000)
    same = FakeChatModel([], name="fake:same", context_window=8000)
    unknown = FakeChatModel([], name="fake:unknown")
    big = FakeChatModel(["fits"], name="fake:big", context_window=128000)
    chain = Fallback([small, same, unknown, big])
    reply = await chain.chat(request())
    assert reply.model == "fake:big" and same.calls == 0 and unknown.calls == 0
    assert [a.model for a in reply.attempts] == ["fake:small", "fake:big"]
    assert chain.context_window == 128000


async def test_all_failed_lists_every_error() -> None:
    a = FakeChatModel([ProviderHTTPError(503)], name="fake:a")
    b = FakeChatModel([ProviderTimeout("total", 2)], name="fake:b")
    with pytest.raises(AllProvidersFailed) as err:
        await Fallback([a, b]).chat(request())
    assert [p for p, _ in err.value.attempts] == ["fake:a", "fake:b"]
    assert isinstance(err.value.attempts[1][1], ProviderTimeout)


async def test_stream_falls_back_before_first_chunk() -> None:
    a = FakeChatModel([ProviderHTTPError(502)], name="fake:a")
    b = FakeChatModel(["streamed from b"], name="fake:b")
    reply = await collect(Fallback([a, b]).stream(request()))
    assert reply.text == "streamed from b" and reply.model == "fake:b"


async def test_stream_cut_after_first_chunk_never_falls_back() -> None:
    a = FakeChatModel([Reply("partial answer here", cut_after=1)], name="fake:a")
    b = FakeChatModel(["never"], name="fake:b")
    seen: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for chunk in Fallback([a, b]).stream(request()):
            seen.append(chunk.delta)
    assert seen == ["partial"] and b.calls == 0


async def test_candidate_names_cover_the_chain() -> None:
    chain = Fallback([FakeChatModel(name="fake:a"), Fallback([FakeChatModel(name="fake:b")])])
    assert chain.candidate_names() == ["fake:a", "fake:b"] and chain.name == "fake:a"


async def test_context_length_with_no_known_window_tries_the_rest() -> None:
    a = FakeChatModel([ContextLengthExceeded("long")], name="fake:a")
    b = FakeChatModel(["fits"], name="fake:b")
    assert (await Fallback([a, b]).chat(request())).model == "fake:b"
