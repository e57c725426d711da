"""`ChatModelContract`: the behaviour every `ChatModel` adapter must show, as a pytest mixin.

Subclass it in a test module and provide the model, plus a way to make the next call fail::

    class TestOpenAIAdapter(ChatModelContract):
        @pytest.fixture
        def chat_model(self, openai_server, client):           # override the fixture, or implement make_model()
            self.server = openai_server
            return OpenAIChatModel("gpt-4o-mini", base_url=openai_server.base_url, api_key="k", client=client)

        def inject_fault(self, kind: str) -> None:              # "transient" or "permanent"
            self.server.enqueue(server_error(503) if kind == "transient" else Plan(status=400))

The suite asks only for what any real model does when asked plainly (it also runs against a live provider): a text
reply with usage, a stream that folds into the same reply, a tool call and its round trip, JSON that fits a schema,
and errors that are :class:`~ragwright.errors.GatewayError` s with ``transient`` set right. Requests use
``temperature=0`` and a fixed seed, so a deterministic backend streams the same text it returns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ragwright.errors import GatewayError, StreamInterrupted
from ragwright.gateway.base import ChatModel, collect
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message, ResponseFormat, Tool, ToolCall

__all__ = ["ANSWER_SCHEMA", "WEATHER_TOOL", "ChatModelContract"]

WEATHER_TOOL = Tool(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
)
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def _request(model: ChatModel, *messages: Message, **kw: Any) -> ChatRequest:
    return ChatRequest(model=model.name, messages=messages, temperature=0.0, seed=7, max_tokens=64, **kw)


def _hello(model: ChatModel) -> ChatRequest:
    return _request(
        model, Message("system", "Answer in one short sentence."), Message("user", "Say hello to the contract suite.")
    )


class ChatModelContract:
    """Behaviour shared by every ChatModel adapter. Implement :meth:`make_model` (or override the ``chat_model``
    fixture) and :meth:`inject_fault`; set ``supports_tools`` / ``supports_json`` False for models without them."""

    supports_tools = True
    supports_json = True

    def make_model(self) -> ChatModel:
        raise NotImplementedError

    def inject_fault(self, kind: str) -> None:
        """Make the next call fail: ``"transient"`` (e.g. HTTP 503) or ``"permanent"`` (e.g. HTTP 400)."""
        pytest.skip(f"{type(self).__name__} cannot inject faults")

    @pytest.fixture
    def chat_model(self) -> ChatModel:
        return self.make_model()

    # -- plain replies --------------------------------------------------------------------------------------------

    def test_name_is_provider_and_model(self, chat_model: ChatModel) -> None:
        provider, _, model = chat_model.name.partition(":")
        assert provider and model, chat_model.name
        assert isinstance(chat_model, ChatModel)

    async def test_chat_returns_text_and_usage(self, chat_model: ChatModel) -> None:
        reply = await chat_model.chat(_hello(chat_model))
        assert reply.text.strip()
        assert reply.model == chat_model.name
        assert reply.finish_reason in ("stop", "length")
        usage = reply.usage
        assert usage.input_tokens > 0 and usage.output_tokens > 0
        assert 0 <= usage.cached_input_tokens <= usage.input_tokens
        assert 0 <= usage.reasoning_tokens <= usage.output_tokens
        assert reply.cost_usd is None or reply.cost_usd >= 0

    async def test_stream_folds_into_the_chat_reply(self, chat_model: ChatModel) -> None:
        request = _hello(chat_model)
        reply = await chat_model.chat(request)
        chunks: list[Chunk] = [c async for c in chat_model.stream(request)]
        assert chunks, "a stream must yield at least its final chunk"
        assert [c.finish_reason is not None for c in chunks].count(True) == 1
        last = chunks[-1]
        assert last.finish_reason is not None and last.usage is not None, "usage rides on the final chunk"
        folded = await collect(_replay(chunks), model=chat_model.name)
        assert folded.text == reply.text
        assert folded.usage == reply.usage
        if reply.cost_usd is not None:
            assert folded.cost_usd == pytest.approx(reply.cost_usd)

    # -- tools ----------------------------------------------------------------------------------------------------

    async def test_tool_call_round_trip(self, chat_model: ChatModel) -> None:
        if not self.supports_tools:
            pytest.skip("model has no tool calling")
        ask = Message("user", "What is the weather in Paris? Use the tool.")
        request = _request(chat_model, ask, tools=(WEATHER_TOOL,), tool_choice="required")
        reply = await chat_model.chat(request)
        assert reply.finish_reason == "tool_calls"
        call = _only_call(reply)
        result = Message(
            "tool",
            json.dumps({"city": json.loads(call.arguments)["city"], "temp_c": 21}),
            tool_call_id=call.id,
            name=call.name,
        )
        follow = _request(
            chat_model,
            ask,
            Message("assistant", reply.message.content, tool_calls=(call,)),
            result,
            tools=(WEATHER_TOOL,),
        )
        answer = await chat_model.chat(follow)
        assert answer.text.strip() and not answer.message.tool_calls

    async def test_streamed_tool_call_assembles(self, chat_model: ChatModel) -> None:
        if not self.supports_tools:
            pytest.skip("model has no tool calling")
        request = _request(
            chat_model, Message("user", "Weather in Oslo? Use the tool."), tools=(WEATHER_TOOL,), tool_choice="required"
        )
        folded = await collect(chat_model.stream(request))
        assert folded.finish_reason == "tool_calls"
        call = _only_call(folded)
        assert call.id

    # -- structured output ----------------------------------------------------------------------------------------

    async def test_json_response_format(self, chat_model: ChatModel) -> None:
        if not self.supports_json:
            pytest.skip("model has no JSON mode")
        import jsonschema

        request = _request(
            chat_model,
            Message("user", "Give the capital of France as JSON."),
            response_format=ResponseFormat(ANSWER_SCHEMA, name="capital"),
        )
        for reply in (await chat_model.chat(request), await collect(chat_model.stream(request))):
            data = json.loads(reply.text)
            jsonschema.validate(data, ANSWER_SCHEMA)
            assert not reply.message.tool_calls

    # -- errors ---------------------------------------------------------------------------------------------------

    async def test_transient_error_is_marked_transient(self, chat_model: ChatModel) -> None:
        self.inject_fault("transient")
        with pytest.raises(GatewayError) as err:
            await chat_model.chat(_hello(chat_model))
        assert err.value.transient, repr(err.value)

    async def test_permanent_error_is_not_transient(self, chat_model: ChatModel) -> None:
        self.inject_fault("permanent")
        with pytest.raises(GatewayError) as err:
            await chat_model.chat(_hello(chat_model))
        assert not err.value.transient, repr(err.value)

    async def test_stream_error_before_first_chunk_is_the_error_itself(self, chat_model: ChatModel) -> None:
        self.inject_fault("transient")
        seen: list[Chunk] = []
        with pytest.raises(GatewayError) as err:
            async for chunk in chat_model.stream(_hello(chat_model)):
                seen.append(chunk)
        assert not seen
        assert not isinstance(err.value, StreamInterrupted) and err.value.transient, repr(err.value)


async def _replay(chunks: list[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


def _only_call(reply: ChatResponse) -> ToolCall:
    calls = reply.message.tool_calls
    assert len(calls) >= 1 and calls[0].name == WEATHER_TOOL.name, calls
    args = json.loads(calls[0].arguments)
    assert isinstance(args, dict) and isinstance(args.get("city"), str)
    return calls[0]
