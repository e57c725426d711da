"""`ragwright mcp --http`: real uvicorn on 127.0.0.1 (port 0), the official MCP client over streamable HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.mcp.http import build_http_app
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.server import build_server, key_from_http
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.service.kbs import KnowledgeBases
from ragwright.service.keys import KeyStore
from tests.mcp.conftest import INTERNAL, OTHER_TENANT, Env, tag_limited_calls, texts

RPM = 40


@pytest.fixture(scope="module")
def base_url(env: Env) -> Iterator[str]:
    settings = load_settings(data_dir=env.data_dir, embedding={"model": "fake"})
    rw = Ragwright(settings)
    keys = KeyStore(env.data_dir / "keys.sqlite")
    server = build_server(RagTools(rw), key_from_http, KeyRateLimiter(RPM))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(build_http_app(server, keys), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a bound for a start-up that takes well under a second when idle
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started
    yield f"http://127.0.0.1:{port}/mcp"
    uv.should_exit = True
    thread.join(10)
    keys.close()
    rw.close()


@asynccontextmanager
async def http_client(url: str, key: str) -> AsyncIterator[Client]:
    # an httpx2 client with the headers, as streamable_http_client's docs say (not the SDK's private factory)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=300))
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=30) as client:
        yield client


async def test_tools_per_scope(env: Env, base_url: str) -> None:
    async with http_client(base_url, env.keys["read"]) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {
            "search",
            "answer",
            "list_documents",
            "get_document",
        }
    async with http_client(base_url, env.keys["write"]) as client:
        assert "ingest" in {t.name for t in (await client.list_tools()).tools}


async def test_search_and_answer_carry_citations(env: Env, base_url: str) -> None:
    async with http_client(base_url, env.keys["read"]) as client:
        found = await client.call_tool("search", {"query": "kettle warranty years", "k": 5})
        assert not found.is_error
        files = [r["citation"]["file"] for r in found.structured_content["results"]]
        assert "docs/public/kettle.md" in files and "other/walrus.md" not in files
        assert OTHER_TENANT not in texts(found)
        answer = await client.call_tool("answer", {"question": "How long is the kettle warranty?"})
        cites = answer.structured_content["citations"]
        assert "3 years" in answer.structured_content["answer"]
        assert cites and cites[0]["file"] == "docs/public/kettle.md" and cites[0]["heading"] == "Kettle › Warranty"
        doc = await client.call_tool("get_document", {"doc_id": "docs/public/kettle.md"})
        assert "citric acid" in doc.structured_content["text"]
        missing = await client.call_tool("get_document", {"doc_id": "other/walrus.md"})
        assert missing.is_error and "walrus" not in texts(missing).replace("other/walrus.md", "")


async def test_read_key_cannot_ingest_write_key_can(env: Env, base_url: str) -> None:
    body = {"filename": "http-note.md", "text": "# Note\n\nThe samovar spout is brass."}
    async with http_client(base_url, env.keys["read"]) as client:
        refused = await client.call_tool("ingest", body)
        assert refused.is_error
        found = await client.call_tool("search", {"query": "samovar brass"})
        assert "http-note.md" not in {r["citation"]["file"] for r in found.structured_content["results"]}
    async with http_client(base_url, env.keys["write"]) as client:
        added = await client.call_tool("ingest", body)
        assert not added.is_error, texts(added)
        found = await client.call_tool("search", {"query": "samovar spout brass"})
        assert found.structured_content["results"][0]["citation"]["file"] == "http-note.md"


async def test_bad_or_missing_key_gets_401(env: Env, base_url: str) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as raw:
        for auth in ({}, {"Authorization": "Bearer rw_000000000000_" + "x" * 43}, {"Authorization": "Basic abc"}):
            resp = await raw.post(base_url, json=init, headers={**headers, **auth})
            assert resp.status_code == 401
            assert resp.json()["error"]["type"] == "unauthorized"
            assert resp.headers["www-authenticate"].startswith("Bearer")
        ok = await raw.post(base_url, json=init, headers={**headers, "Authorization": f"Bearer {env.keys['read']}"})
        assert ok.status_code == 200
        with KeyStore(env.data_dir / "keys.sqlite") as store:
            raw_key, key = store.create("acme", scopes=("read",))
            assert (
                await raw.post(base_url, json=init, headers={**headers, "Authorization": f"Bearer {raw_key}"})
            ).status_code == 200
            store.revoke(key.key_id)
        revoked = await raw.post(base_url, json=init, headers={**headers, "Authorization": f"Bearer {raw_key}"})
        assert revoked.status_code == 401  # checked on every request, not once per session
    with pytest.raises(BaseException) as refused:  # the official client gives up on a 401
        async with http_client(base_url, "rw_bad"):
            pass
    assert refused.group_contains(MCPError, match="error response")


async def test_tag_limited_key_never_sees_other_tags(env: Env, base_url: str) -> None:
    async with http_client(base_url, env.keys["public"]) as client:
        for name, args in tag_limited_calls():
            result = await client.call_tool(name, args)
            text = texts(result)
            assert INTERNAL not in text and "42 percent" not in text and "supplier is late" not in text
        listed = (await client.call_tool("list_documents", {})).structured_content["documents"]
        assert "docs/public/kettle.md" in {d["doc_id"] for d in listed}
    async with http_client(base_url, env.keys["write"]) as client:  # control: an unlimited key does see it
        result = await client.call_tool("search", {"query": "margin percent zebra"})
        assert "42 percent" in texts(result)


async def test_rate_limit_per_key(env: Env, base_url: str) -> None:
    async with http_client(base_url, env.keys["other"]) as client:
        results = [await client.call_tool("list_documents", {"limit": 1}) for _ in range(RPM + 1)]
        assert not any(r.is_error for r in results[:RPM])
        assert results[-1].is_error and "rate limit" in texts(results[-1])
    async with http_client(base_url, env.keys["read"]) as client:  # other keys are not affected
        assert not (await client.call_tool("list_documents", {"limit": 1})).is_error


async def test_knowledge_bases_are_separate(env: Env, base_url: str) -> None:
    async with http_client(base_url, env.keys["write"]) as client:
        added = await client.call_tool(
            "ingest",
            {
                "filename": "hb.md",
                "knowledge_base": "handbook",
                "text": "# Handbook\n\nThe espresso grinder burr is conical.",
            },
        )
        assert not added.is_error, texts(added)
        in_kb = await client.call_tool("search", {"query": "espresso grinder burr", "knowledge_base": "handbook"})
        assert in_kb.structured_content["results"][0]["citation"]["file"] == "hb.md"
        default = await client.call_tool("search", {"query": "espresso grinder burr", "k": 50})
        assert "hb.md" not in {r["citation"]["file"] for r in default.structured_content["results"]}
        bad = await client.call_tool("search", {"query": "x", "knowledge_base": "../acme"})
        assert bad.is_error
    registry = KnowledgeBases(env.data_dir / "service.sqlite")
    try:
        assert "handbook" in registry.list("acme")
    finally:
        registry.close()


async def test_large_ingest_bodies_reach_the_tool(env: Env, base_url: str) -> None:
    big = "word " * 900_000  # 4.5 MB of JSON: over the SDK's 4 MB default, under our 16 MB
    async with http_client(base_url, env.keys["write"]) as client:
        result = await client.call_tool("ingest", {"filename": "no extension", "text": big})
        assert result.is_error and "filename" in texts(result)  # rejected by the schema, not by the transport


def test_two_authorization_headers_are_400(base_url: str, env: Env) -> None:
    good = env.keys["read"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = [
        ("Authorization", f"Bearer {good}"),
        ("Authorization", "Bearer rw_000000000000_" + "x" * 43),
        ("Accept", "application/json, text/event-stream"),
    ]
    r = httpx.post(base_url, json=body, headers=headers, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": {"type": "bad_request", "message": "more than one Authorization header"}}
