"""`PooledTransport` over TLS, against the loopback OpenAI server serving HTTPS with a `trustme` certificate: the path
every call to api.openai.com takes by default. Plain calls and streams work and share one kept-alive TLS connection;
the certificate is verified (an untrusted CA, or a certificate for another host, is a connection error, never a
silent success); a stale TLS connection is replaced as over plain TCP."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
import trustme

from ragwright.config import TimeoutSettings
from ragwright.errors import ProviderConnectionError
from ragwright.gateway.base import collect
from ragwright.gateway.lean_client import LeanAsyncClient
from ragwright.gateway.providers.http import httpx_timeout
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.transport import PooledTransport
from ragwright.gateway.types import ChatRequest, Message
from ragwright.testing.provider_servers import OpenAIServer, Plan

REQ = ChatRequest(model="x", messages=(Message("user", "say hello"),), max_tokens=16)
TIMEOUT = httpx_timeout(TimeoutSettings(connect=2.0, first_token=5.0, total=10.0))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_server(ca: trustme.CA) -> Iterator[OpenAIServer]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    with OpenAIServer(default=Plan(text="hello over tls"), tls=server_ctx) as server:
        yield server  # type: ignore[misc]


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def _model(server: OpenAIServer, ctx: ssl.SSLContext | None) -> tuple[OpenAIChatModel, httpx.AsyncClient]:
    client = LeanAsyncClient(transport=PooledTransport(ssl_context=ctx), timeout=TIMEOUT)
    return OpenAIChatModel("x", base_url=server.base_url, client=client), client


async def test_calls_and_streams_share_one_verified_tls_connection(https_server: OpenAIServer, ca: trustme.CA) -> None:
    assert https_server.base_url.startswith("https://127.0.0.1:")
    https_server.reset()
    model, client = _model(https_server, _trusting(ca))
    try:
        for _ in range(3):
            assert (await model.chat(REQ)).text == "hello over tls"
        streamed = await collect(model.stream(REQ))
        assert streamed.text == "hello over tls" and streamed.finish_reason == "stop"
        assert https_server.request_count == 4 and https_server.connections == 1  # one handshake, kept alive
    finally:
        await client.aclose()


async def test_an_untrusted_certificate_is_refused(https_server: OpenAIServer) -> None:
    model, client = _model(https_server, None)  # the system's CAs: they do not know the test CA
    try:
        with pytest.raises(ProviderConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await model.chat(REQ)
    finally:
        await client.aclose()


async def test_a_certificate_for_another_host_is_refused(ca: trustme.CA) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.example.org").configure_cert(server_ctx)
    with OpenAIServer(tls=server_ctx) as server:
        model, client = _model(server, _trusting(ca))  # type: ignore[arg-type]
        try:
            with pytest.raises(ProviderConnectionError, match="CERTIFICATE_VERIFY_FAILED|match"):
                await model.chat(REQ)
        finally:
            await client.aclose()


async def test_a_stale_tls_connection_is_replaced(https_server: OpenAIServer, ca: trustme.CA) -> None:
    https_server.reset()
    model, client = _model(https_server, _trusting(ca))
    try:
        assert (await model.chat(REQ)).text == "hello over tls"
        https_server.enqueue(Plan(drop=True))  # the server closes the kept-alive connection instead of answering
        assert (await model.chat(REQ)).text == "hello over tls"
        assert https_server.connections == 2
    finally:
        await client.aclose()
