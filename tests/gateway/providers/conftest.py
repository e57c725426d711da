"""Loopback provider servers (one per module, reset before each test) and a pooled client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ragwright.config import TimeoutSettings
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.http import make_client
from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer, Plan

PATIENT = TimeoutSettings(connect=30.0, first_token=60.0, total=60.0)
"""The ``client`` fixture's socket deadlines: far above what a loopback reply needs, even on a loaded 2-core machine.
A test about a timeout sets its own on the model (``timeout=...``); these only keep a broken test from hanging."""


@pytest.fixture(scope="module")
def _openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def _anthropic_server() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def openai_server(_openai_server: OpenAIServer) -> OpenAIServer:
    _openai_server.reset()
    _openai_server.default = Plan()
    return _openai_server


@pytest.fixture
def anthropic_server(_anthropic_server: AnthropicServer) -> AnthropicServer:
    _anthropic_server.reset()
    _anthropic_server.default = Plan()
    return _anthropic_server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = make_client(PATIENT)
    yield c
    await c.aclose()


@pytest.fixture(scope="session")
def prices() -> PriceTable:
    return PriceTable.load()
