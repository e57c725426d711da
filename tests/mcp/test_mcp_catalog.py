"""MCP prompts (the prompt registry) and resources (documents) with the official client, over stdio and HTTP.

The resources get the ``get_document`` tool's tenant and tag checks: a tag-limited key neither lists nor reads the
internal memo, another tenant's key reads acme's documents as missing; prompts are the key's tenant's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.interfaces.mcp import catalog
from ragwright.interfaces.mcp.catalog import document_uri, parse_uri
from ragwright.interfaces.mcp.http import build_http_app
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.server import build_server, key_from_http
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.service.keys import KeyStore
from tests.http.conftest import run_server
from tests.mcp.conftest import INTERNAL, PUBLIC, Env, build_env, stdio_client

MEMO = "docs/internal/memo.md"
KETTLE = "docs/public/kettle.md"


@pytest.fixture(scope="module")
def cenv(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Env:
    env = build_env(tmp_path_factory.mktemp("mcp-catalog"))
    with closing(Ragwright(load_settings(data_dir=env.data_dir, embedding={"model": "fake"}))) as rw:
        rw.prompts.create("acme", "greeting", "Hello $who, from acme.", ("who",), note="acme only")
    return env


@pytest.fixture(scope="module")
def url(cenv: Env) -> Iterator[str]:
    rw = Ragwright(load_settings(data_dir=cenv.data_dir, embedding={"model": "fake"}))
    keys = KeyStore(cenv.data_dir / "keys.sqlite")
    app = build_http_app(build_server(RagTools(rw), key_from_http, KeyRateLimiter(None)), keys)
    for base in run_server(app):  # type: ignore[arg-type]
        yield f"{base}/mcp"
    keys.close()
    rw.close()


@asynccontextmanager
async def http_client(url: str, key: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30, read=300))
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=30) as client:
        yield client


async def _all_resources(client: Client) -> list[str]:
    uris: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page = await client.list_resources(cursor=cursor)
        uris += [r.uri for r in page.resources]
        cursor = page.next_cursor
        if cursor is None:
            return uris
    raise AssertionError("resources/list never reached the last page")


def test_uris_round_trip() -> None:
    uri = document_uri("default", "docs/a b/é.md")
    assert uri == "ragwright://kb/default/doc/docs%2Fa%20b%2F%C3%A9.md"
    assert parse_uri(uri) == ("default", "docs/a b/é.md")
    with pytest.raises(MCPError):
        parse_uri("file:///etc/passwd")


async def test_prompts_over_stdio(cenv: Env) -> None:
    async with stdio_client(cenv, "--tenant", "acme") as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert {"answer", "condense", "greeting"} <= set(prompts)
        assert [a.name for a in prompts["greeting"].arguments or []] == ["who"]
        got = await client.get_prompt("greeting", {"who": "Ada"})
        assert got.messages[0].content.text == "Hello Ada, from acme."  # type: ignore[union-attr]
        assert got.description is not None and got.description.startswith("greeting/v1#")
        with pytest.raises(MCPError, match="missing who"):
            await client.get_prompt("greeting", {})
        with pytest.raises(MCPError, match="no prompt named 'nope'"):
            await client.get_prompt("nope", {})
    async with stdio_client(cenv, "--tenant", "other") as client:
        assert "greeting" not in {p.name for p in (await client.list_prompts()).prompts}


async def test_resources_over_stdio_follow_the_key(cenv: Env) -> None:
    async with stdio_client(cenv, "--tenant", "acme") as client:
        assert await _all_resources(client) == [
            document_uri("default", MEMO),
            document_uri("default", KETTLE),
        ]  # id order
        memo = await client.read_resource(document_uri("default", MEMO))
        assert INTERNAL in memo.contents[0].text  # type: ignore[union-attr]
    async with stdio_client(cenv, RAGWRIGHT_API_KEY=cenv.keys["public"]) as client:
        assert await _all_resources(client) == [document_uri("default", KETTLE)]
        with pytest.raises(MCPError, match="no document"):
            await client.read_resource(document_uri("default", MEMO))


async def test_resources_over_http_page_and_check_tenant_and_tags(
    cenv: Env, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "RESOURCE_PAGE", 1)  # the server runs in this process: one document per page
    async with http_client(url, cenv.keys["read"]) as client:
        first = await client.list_resources()
        assert len(first.resources) == 1 and first.next_cursor is not None
        assert set(await _all_resources(client)) == {document_uri("default", KETTLE), document_uri("default", MEMO)}
        kettle = await client.read_resource(document_uri("default", KETTLE))
        assert PUBLIC in kettle.contents[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="cursor"):
            await client.list_resources(cursor="not-a-cursor")
        templates = (await client.list_resource_templates()).resource_templates
        assert templates[0].uri_template == "ragwright://kb/{knowledge_base}/doc/{doc_id}"
    async with http_client(url, cenv.keys["public"]) as client:
        assert await _all_resources(client) == [document_uri("default", KETTLE)]
        with pytest.raises(MCPError, match="no document"):
            await client.read_resource(document_uri("default", MEMO))
    async with http_client(url, cenv.keys["other"]) as client:
        assert all("kettle" not in u and "memo" not in u for u in await _all_resources(client))
        with pytest.raises(MCPError, match="no document"):
            await client.read_resource(document_uri("default", KETTLE))
        with pytest.raises(MCPError, match="no document"):
            await client.read_resource(document_uri("scratch", KETTLE))
        assert "greeting" not in {p.name for p in (await client.list_prompts()).prompts}
