"""Test doubles and contract suites shipped with ragwright, for its own tests and for people extending it."""

from typing import TYPE_CHECKING

from ragwright.testing.fake_chat import FakeChatModel, Reply, ScriptedGateway
from ragwright.testing.fakes import FakeEmbedder, FakeGenerator, FakeReranker

if TYPE_CHECKING:
    from ragwright.testing.chat_contract import ChatModelContract
    from ragwright.testing.embedding_server import EmbeddingServer
    from ragwright.testing.loopback_http import Plan, closed_port_url
    from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer

__all__ = [
    "AnthropicServer",
    "ChatModelContract",
    "EmbeddingServer",
    "FakeChatModel",
    "FakeEmbedder",
    "FakeGenerator",
    "FakeReranker",
    "OpenAIServer",
    "Plan",
    "Reply",
    "ScriptedGateway",
    "closed_port_url",
]

# imported on first use: the contract suite needs pytest, the servers start threads only when asked
_LAZY = {
    "ChatModelContract": "ragwright.testing.chat_contract",
    "AnthropicServer": "ragwright.testing.provider_servers",
    "EmbeddingServer": "ragwright.testing.embedding_server",
    "OpenAIServer": "ragwright.testing.provider_servers",
    "Plan": "ragwright.testing.loopback_http",
    "closed_port_url": "ragwright.testing.loopback_http",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ragwright.testing' has no attribute {name!r}")
