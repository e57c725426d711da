"""`ChatModelContract` run against each adapter: OpenAI and Anthropic against their loopback servers, and the fake."""

from __future__ import annotations

import json

import httpx
import pytest

from ragwright.errors import GatewayError, ProviderHTTPError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.anthropic import AnthropicChatModel
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.testing import FakeChatModel, Reply
from ragwright.testing.chat_contract import ChatModelContract
from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer, Plan, overloaded, server_error


class TestOpenAIAdapter(ChatModelContract):
    @pytest.fixture
    def chat_model(self, openai_server: OpenAIServer, client: httpx.AsyncClient, prices: PriceTable) -> ChatModel:
        self.server = openai_server
        return OpenAIChatModel(
            "gpt-4o-mini", base_url=openai_server.base_url, api_key="sk-test", client=client, prices=prices
        )

    def inject_fault(self, kind: str) -> None:
        self.server.enqueue(server_error(503) if kind == "transient" else Plan(status=400, error_message="bad"))


class TestAnthropicAdapter(ChatModelContract):
    @pytest.fixture
    def chat_model(self, anthropic_server: AnthropicServer, client: httpx.AsyncClient, prices: PriceTable) -> ChatModel:
        self.server = anthropic_server
        return AnthropicChatModel(
            "claude-haiku-4-5", base_url=anthropic_server.base_url, api_key="sk-ant-test", client=client, prices=prices
        )

    def inject_fault(self, kind: str) -> None:
        permanent = Plan(status=401, error_code="authentication_error")
        self.server.enqueue(overloaded() if kind == "transient" else permanent)


def echo_model(request: ChatRequest) -> Reply | str:
    """What the loopback servers do, as a FakeChatModel script: call the offered tool, answer JSON, or echo."""
    last = request.messages[-1]
    if request.tools and last.role != "tool" and request.tool_choice != "none":
        return Reply(tool_calls=(ToolCall("call_1", request.tools[0].name, json.dumps({"city": "Paris"})),))
    text = f"You said: {last.content}"
    if request.response_format is not None:
        return json.dumps({"answer": text})
    return text


class TestFakeChatModel(ChatModelContract):
    def make_model(self) -> ChatModel:
        self.faults: list[GatewayError] = []

        def step(request: ChatRequest) -> Reply | str | GatewayError:
            return self.faults.pop(0) if self.faults else echo_model(request)

        return FakeChatModel(step, name="fake:echo", prices=PriceTable.load())

    def inject_fault(self, kind: str) -> None:
        self.faults.append(ProviderHTTPError(503 if kind == "transient" else 400, provider="fake:echo"))
