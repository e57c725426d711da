"""The loopback OpenAI server is faithful enough for the official `openai` client: plain, streamed, tools, errors."""

from __future__ import annotations

import pytest

from ragwright.gateway.types import ToolCall, Usage
from ragwright.testing.provider_servers import OpenAIServer, Plan, rate_limited

openai = pytest.importorskip("openai")


async def test_official_openai_client_reads_the_loopback_server(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        Plan(text="hello there", usage=Usage(12, 4, 7, 3)),
        Plan(text="streamed words here", usage=Usage(12, 0, 3, 0)),
        Plan(text="", tool_calls=(ToolCall("call_7", "lookup", '{"q": "x"}'),)),
        rate_limited(3),
    )
    async with openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="sk-test", max_retries=0) as client:
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "hello there"
        assert reply.usage is not None and reply.usage.prompt_tokens == 12
        assert reply.usage.prompt_tokens_details.cached_tokens == 4  # type: ignore[union-attr]
        assert reply.usage.completion_tokens_details.reasoning_tokens == 3  # type: ignore[union-attr]

        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "hi"}],
        )
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            usage = chunk.usage or usage
        assert text == "streamed words here" and usage is not None and usage.completion_tokens == 3

        tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
        called = await client.chat.completions.create(
            model="gpt-4o-mini",
            tools=tools,  # type: ignore[arg-type]
            messages=[{"role": "user", "content": "look"}],
        )
        call = called.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.function.name == "lookup" and call.function.arguments == '{"q": "x"}'  # type: ignore[union-attr]

        with pytest.raises(openai.RateLimitError) as err:
            await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        assert err.value.response.headers["retry-after"] == "3"
    assert openai_server.request_count == 4
