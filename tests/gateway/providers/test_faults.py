"""Every scripted fault, against both HTTP adapters: the right error type, ``transient`` flag and fields, and exactly
one upstream request per call (adapters never retry on their own: the retry policy is the only retry layer)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from ragwright.config import TimeoutSettings
from ragwright.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    GatewayError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeout,
    StreamInterrupted,
)
from ragwright.gateway.base import collect
from ragwright.gateway.providers.anthropic import AnthropicChatModel
from ragwright.gateway.providers.common import HTTPChatModel
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.types import ChatRequest, Chunk, Message
from ragwright.testing.loopback_http import LoopbackServer
from ragwright.testing.provider_servers import (
    AnthropicServer,
    OpenAIServer,
    Plan,
    closed_port_url,
    content_filtered,
    context_length_error,
    cut_stream,
    drop_connection,
    hang,
    malformed_json,
    overloaded,
    oversized,
    rate_limited,
    server_error,
    slow_first_token,
    wrong_content_type,
)

TIGHT = TimeoutSettings(connect=30.0, first_token=0.2, total=0.3)
"""The deadlines these tests make fire are tight; connecting (never the fault here) may take long on a loaded machine
without turning a first-token or total timeout into a connect timeout."""
TEXT = "one two three four five six seven eight"
REQ = ChatRequest(model="x", messages=(Message("user", "count to eight"),), max_tokens=32)


@dataclass
class Rig:
    kind: str
    server: LoopbackServer
    make: Callable[..., HTTPChatModel]


@pytest.fixture(params=["openai", "anthropic"])
def rig(
    request: pytest.FixtureRequest,
    openai_server: OpenAIServer,
    anthropic_server: AnthropicServer,
    client: httpx.AsyncClient,
) -> Rig:
    if request.param == "openai":

        def make_openai(base_url: str | None = None, **kw: object) -> HTTPChatModel:
            return OpenAIChatModel(
                "gpt-4o-mini", base_url=base_url or openai_server.base_url, api_key="k", client=client, **kw
            )  # type: ignore[arg-type]

        return Rig("openai", openai_server, make_openai)

    def make_anthropic(base_url: str | None = None, **kw: object) -> HTTPChatModel:
        return AnthropicChatModel(
            "claude-haiku-4-5", base_url=base_url or anthropic_server.url, api_key="k", client=client, **kw
        )  # type: ignore[arg-type]

    return Rig("anthropic", anthropic_server, make_anthropic)


async def stream_all(model: HTTPChatModel, request: ChatRequest = REQ) -> tuple[list[Chunk], GatewayError | None]:
    seen: list[Chunk] = []
    try:
        async for chunk in model.stream(request):
            seen.append(chunk)
    except GatewayError as exc:
        return seen, exc
    return seen, None


# -- error statuses -----------------------------------------------------------------------------------------------


async def test_429_carries_retry_after_seconds(rig: Rig) -> None:
    rig.server.enqueue(rate_limited(2), rate_limited(2))
    model = rig.make()
    with pytest.raises(ProviderHTTPError) as err:
        await model.chat(REQ)
    assert err.value.status == 429 and err.value.transient and err.value.retry_after == 2.0
    assert err.value.provider == model.name and "rate limit" in err.value.body.lower()
    _, exc = await stream_all(model)
    assert isinstance(exc, ProviderHTTPError) and exc.status == 429 and exc.retry_after == 2.0
    assert rig.server.request_count == 2


async def test_429_retry_after_as_http_date(rig: Rig) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    rig.server.enqueue(rate_limited(when))
    with pytest.raises(ProviderHTTPError) as err:
        await rig.make().chat(REQ)
    assert err.value.retry_after is not None and 27 <= err.value.retry_after <= 31


async def test_retry_after_ms_wins_over_retry_after(rig: Rig) -> None:
    rig.server.enqueue(rate_limited(5, headers=(("retry-after-ms", "250"),)))
    with pytest.raises(ProviderHTTPError) as err:
        await rig.make().chat(REQ)
    assert err.value.retry_after == pytest.approx(0.25)


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_errors_are_transient(rig: Rig, status: int) -> None:
    rig.server.enqueue(overloaded() if status == 529 else server_error(status))
    with pytest.raises(ProviderHTTPError) as err:
        await rig.make().chat(REQ)
    assert err.value.status == status and err.value.transient and err.value.retry_after is None
    assert rig.server.request_count == 1


async def test_client_errors_are_not_transient(rig: Rig) -> None:
    rig.server.enqueue(Plan(status=401, error_message="invalid x-api-key"), Plan(status=404))
    model = rig.make()
    with pytest.raises(ProviderHTTPError) as err:
        await model.chat(REQ)
    assert err.value.status == 401 and not err.value.transient and "invalid x-api-key" in str(err.value)
    _, exc = await stream_all(model)
    assert isinstance(exc, ProviderHTTPError) and exc.status == 404 and not exc.transient


async def test_context_length_error(rig: Rig) -> None:
    rig.server.enqueue(context_length_error(), context_length_error())
    model = rig.make()
    with pytest.raises(ContextLengthExceeded) as err:
        await model.chat(REQ)
    assert not err.value.transient and err.value.provider == model.name
    _, exc = await stream_all(model)
    assert isinstance(exc, ContextLengthExceeded)


async def test_error_html_page_is_still_an_http_error(rig: Rig) -> None:
    rig.server.enqueue(Plan(status=502, content_type="text/html"))
    with pytest.raises(ProviderHTTPError) as err:
        await rig.make().chat(REQ)
    assert err.value.status == 502 and err.value.transient


# -- transport faults ---------------------------------------------------------------------------------------------


async def test_connection_refused(rig: Rig) -> None:
    model = rig.make(base_url=closed_port_url() + ("/v1" if rig.kind == "openai" else ""))
    with pytest.raises(ProviderConnectionError) as err:
        await model.chat(REQ)
    assert err.value.transient and err.value.provider == model.name
    seen, exc = await stream_all(model)
    assert not seen and isinstance(exc, ProviderConnectionError)


async def test_connection_dropped_without_response(rig: Rig) -> None:
    rig.server.enqueue(drop_connection(), drop_connection())
    model = rig.make()
    with pytest.raises(ProviderConnectionError) as err:
        await model.chat(REQ)
    assert err.value.transient
    seen, exc = await stream_all(model)
    assert not seen and isinstance(exc, ProviderConnectionError)


async def test_read_timeout_on_chat_is_total(rig: Rig) -> None:
    rig.server.enqueue(hang())
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout) as err:
        await rig.make(timeout=TIGHT).chat(REQ)
    assert err.value.phase == "total" and err.value.seconds == TIGHT.total and err.value.transient
    # the server never answers: ended by the 0.3 s deadline, not by the client's 60 s backstop (a loaded machine may
    # take seconds to get there, so no tighter bound)
    assert time.perf_counter() - started < 20


async def test_slow_first_token_times_out_as_first_token(rig: Rig) -> None:
    rig.server.enqueue(slow_first_token(1.0, text=TEXT), hang())
    model = rig.make(timeout=TIGHT)
    for _ in range(2):  # headers then silence, and no headers at all
        seen, exc = await stream_all(model)
        assert not seen and isinstance(exc, ProviderTimeout) and exc.phase == "first_token"
        assert exc.seconds == TIGHT.first_token


async def test_first_token_within_the_deadline_is_fine(rig: Rig) -> None:
    rig.server.enqueue(slow_first_token(0.3, text=TEXT))
    # a first token 0.3 s after the headers, well within a 10 s first-token deadline (TIGHT's 0.2 s would fire)
    roomy = TimeoutSettings(connect=30.0, first_token=10.0, total=60.0)
    folded = await collect(rig.make(timeout=roomy).stream(REQ))
    assert folded.text == TEXT


# -- streams cut after content ------------------------------------------------------------------------------------


async def test_stream_cut_mid_answer_raises_stream_interrupted(rig: Rig) -> None:
    rig.server.enqueue(cut_stream(5, text=TEXT))
    seen, exc = await stream_all(rig.make())
    text = "".join(c.delta for c in seen)
    assert text and TEXT.startswith(text) and text != TEXT
    assert all(c.finish_reason is None for c in seen)
    assert isinstance(exc, StreamInterrupted) and not exc.transient
    assert isinstance(exc.cause, ProviderConnectionError)


async def test_stream_cut_before_content_raises_the_transient_error(rig: Rig) -> None:
    rig.server.enqueue(cut_stream(1, text=TEXT))
    seen, exc = await stream_all(rig.make())
    assert not seen and isinstance(exc, ProviderConnectionError) and exc.transient


async def test_stream_without_end_marker_is_not_a_success(rig: Rig) -> None:
    rig.server.enqueue(Plan(text=TEXT, end_marker=False), Plan(text="", end_marker=False))
    seen, exc = await stream_all(rig.make())
    assert "".join(c.delta for c in seen) == TEXT
    assert isinstance(exc, StreamInterrupted) and isinstance(exc.cause, ProviderProtocolError)
    seen, exc = await stream_all(rig.make())
    assert not seen and isinstance(exc, ProviderProtocolError) and exc.transient


async def test_error_event_mid_stream(rig: Rig) -> None:
    first_content = 3 if rig.kind == "anthropic" else 1  # events before the first text delta
    rig.server.enqueue(Plan(text=TEXT, error_event_after=first_content + 2), Plan(text=TEXT, error_event_after=1))
    seen, exc = await stream_all(rig.make())
    assert len(seen) == 2 and isinstance(exc, StreamInterrupted)
    assert isinstance(exc.cause, ProviderHTTPError) and exc.cause.transient
    seen, exc = await stream_all(rig.make())
    assert not seen and isinstance(exc, ProviderHTTPError) and exc.transient


# -- replies that are not the API ---------------------------------------------------------------------------------


async def test_malformed_json(rig: Rig) -> None:
    rig.server.enqueue(malformed_json(), malformed_json())
    model = rig.make()
    with pytest.raises(ProviderProtocolError, match="malformed JSON") as err:
        await model.chat(REQ)
    assert err.value.transient
    seen, exc = await stream_all(model)
    assert not seen and isinstance(exc, ProviderProtocolError)


async def test_wrong_content_type(rig: Rig) -> None:
    rig.server.enqueue(wrong_content_type(), wrong_content_type())
    model = rig.make()
    with pytest.raises(ProviderProtocolError, match="text/html"):
        await model.chat(REQ)
    seen, exc = await stream_all(model)
    assert not seen and isinstance(exc, ProviderProtocolError) and "text/html" in str(exc)


@pytest.mark.parametrize("declare_length", [True, False])
async def test_oversized_body_is_rejected(rig: Rig, declare_length: bool) -> None:
    rig.server.enqueue(oversized(17 * 1024 * 1024, declare_length=declare_length))
    with pytest.raises(ProviderProtocolError, match="byte cap"):
        await rig.make().chat(REQ)


async def test_content_filter(rig: Rig) -> None:
    rig.server.enqueue(content_filtered(), Plan(text=TEXT, finish_reason="content_filter"))
    model = rig.make()
    with pytest.raises(ContentFiltered) as err:
        await model.chat(REQ)
    assert not err.value.transient
    seen, exc = await stream_all(model)
    assert seen and isinstance(exc, StreamInterrupted) and isinstance(exc.cause, ContentFiltered)
