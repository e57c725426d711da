"""MCP ``list_documents`` pages: ``limit`` + ``cursor`` in, ``has_more`` + ``next_cursor`` out, over stdio with the
official client, on an index with more documents than one page (tagged, in two tenants)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.service.pages import encode_cursor
from tests.conftest import write
from tests.mcp.conftest import Env, build_env, stdio_client, texts

EXTRA_PUBLIC = [f"notes/public/n{i:02d}.md" for i in range(7)]
EXTRA_INTERNAL = [f"notes/internal/m{i:02d}.md" for i in range(4)]


@pytest.fixture(scope="module")
def paged_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Env:
    env = build_env(tmp_path_factory.mktemp("mcp-pages"))
    for name in EXTRA_PUBLIC + EXTRA_INTERNAL:
        write(env.root / name, f"# {name}\n\nA short note called {name}.\n")
    rw = Ragwright(load_settings(data_dir=env.data_dir, embedding={"model": "fake"}))
    try:
        rw.ingest([env.root / "notes/public"], tenant="acme", tags=("public",))
        rw.ingest([env.root / "notes/internal"], tenant="acme", tags=("internal",))
    finally:
        rw.close()
    return env


async def _walk(client: Client, limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    args: dict[str, Any] = {"limit": limit}
    for calls in range(1, 100):
        result = await client.call_tool("list_documents", args)
        assert not result.is_error, texts(result)
        page = result.structured_content
        assert len(page["documents"]) <= limit
        ids += [d["doc_id"] for d in page["documents"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return ids, calls
        args["cursor"] = page["next_cursor"]
    raise AssertionError("list_documents never reached the last page")


async def test_list_documents_pages_with_a_cursor(paged_env: Env) -> None:
    async with stdio_client(paged_env, "--tenant", "acme") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        props = tools["list_documents"].input_schema["properties"]
        assert {"limit", "cursor"} <= set(props) and props["limit"]["maximum"] == 1000
        everything, calls = await _walk(client, 1000)
        assert calls == 1 and everything == sorted(everything) and len(everything) == 2 + 7 + 4
        assert "docs/internal/memo.md" in everything and not any("walrus" in d for d in everything)
        paged, calls = await _walk(client, 4)
        assert paged == everything and calls == 4

        bad = await client.call_tool("list_documents", {"cursor": "not-a-cursor"})
        assert bad.is_error and "cursor" in texts(bad)
        too_many = await client.call_tool("list_documents", {"limit": 1001})
        assert too_many.is_error


async def test_tag_limited_key_pages_only_its_documents(paged_env: Env) -> None:
    async with stdio_client(paged_env, RAGWRIGHT_API_KEY=paged_env.keys["public"]) as client:
        paged, calls = await _walk(client, 3)
        assert calls == 3 and paged == sorted(paged) and len(paged) == 1 + 7
        assert not any("internal" in d or "memo" in d for d in paged)
        # A cursor is only a position: starting before the internal notes still shows none of them.
        result = await client.call_tool("list_documents", {"cursor": encode_cursor("a"), "limit": 50})
        assert [d["doc_id"] for d in result.structured_content["documents"]] == paged
    async with stdio_client(paged_env, RAGWRIGHT_API_KEY=paged_env.keys["other"]) as client:
        result = await client.call_tool("list_documents", {"cursor": encode_cursor("a"), "limit": 50})
        others = [d["doc_id"] for d in result.structured_content["documents"]]
        assert len(others) == 1 and "walrus" in others[0]
