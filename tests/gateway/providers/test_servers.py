"""The loopback servers themselves: routes, bounded request log, concurrency, and a clean stop with a hung client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from ragwright.config import TimeoutSettings
from ragwright.gateway.providers.http import make_client
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.types import ChatRequest, Message
from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer, Plan, hang

REQ = ChatRequest(model="x", messages=(Message("user", "ping"),), max_tokens=8)


async def test_routes_and_unknown_paths(
    openai_server: OpenAIServer, anthropic_server: AnthropicServer, client: httpx.AsyncClient
) -> None:
    models = await client.get(openai_server.base_url + "/models")
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "loopback"
    missing = await client.post(openai_server.url + "/v2/nothing", json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await client.post(anthropic_server.url + "/v1/chat/completions", json={})
    assert wrong.status_code == 404 and wrong.json()["type"] == "error"


async def test_request_log_is_bounded_but_the_count_is_not(client: httpx.AsyncClient) -> None:
    with OpenAIServer(keep_requests=3) as server:
        model = OpenAIChatModel("m", base_url=server.base_url, client=client)
        for i in range(5):
            await model.chat(REQ.replace(messages=(Message("user", f"call {i}"),)))
        assert server.request_count == 5 and len(server.requests) == 3
        assert server.requests[-1].body["messages"][0]["content"] == "call 4"


async def test_two_hundred_concurrent_calls(openai_server: OpenAIServer) -> None:
    openai_server.default = Plan(text="ok", delay=0.05)
    # Deadlines far above what the wire needs (the shared ``client`` fixture's are 1 s): 200 calls at once on a loaded
    # 2-core machine can keep one call waiting longer than that, and this test is about concurrency, not timeouts.
    patient = make_client(TimeoutSettings(connect=60.0, first_token=120.0, total=120.0))
    model = OpenAIChatModel("m", base_url=openai_server.base_url, client=patient)
    try:
        replies = await asyncio.gather(*(model.chat(REQ) for _ in range(200)))
    finally:
        await patient.aclose()
    assert [r.text for r in replies] == ["ok"] * 200 and openai_server.request_count == 200
    # concurrent, not 200 x 50 ms in a row: counted by the server, not timed (a loaded machine cannot fake this)
    assert openai_server.max_in_flight >= 20


async def test_stop_does_not_wait_for_a_hung_request() -> None:
    server = OpenAIServer(default=hang()).start()
    async with httpx.AsyncClient(timeout=120.0) as c:  # the client would wait two minutes for the hung reply
        pending = asyncio.create_task(c.post(server.base_url + "/chat/completions", json={"messages": []}))
        deadline = time.monotonic() + 60
        while server.request_count == 0:
            assert time.monotonic() < deadline and not pending.done()
            await asyncio.sleep(0.01)
        await asyncio.to_thread(server.stop)
        # Stopped, not abandoned: stop() gives up joining the server's thread after 10 s; no wall-clock bound here
        # (a loaded machine can take seconds to run anything), the thread's state and the client's error tell it.
        assert server._thread is not None and not server._thread.is_alive()
        with pytest.raises(httpx.TransportError) as cut:
            await asyncio.wait_for(pending, 60)
        assert not isinstance(cut.value, httpx.TimeoutException)  # the server closed it; the client did not give up
