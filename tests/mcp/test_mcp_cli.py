"""`ragwright mcp --http` as a user starts it (subprocess), plus the key/tag rules the tools rely on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.interfaces.mcp.access import local_key, store_tenant
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.schemas import SearchArgs
from ragwright.interfaces.mcp.server import build_server, fixed_key
from ragwright.interfaces.mcp.tools import RagTools, _glob_literal, stitch
from ragwright.service.keys import ApiKey
from ragwright.store.base import Filters
from tests.mcp.conftest import Env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_cli_http_server_end_to_end(env: Env) -> None:
    port = _free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    child_env["RAGWRIGHT_EMBEDDING__MODEL"] = "fake"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "mcp", "--http", "--port", str(port), "--data-dir", str(env.data_dir)],
        cwd=env.root,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120  # a subprocess importing ragwright: seconds when idle, more under load
        while True:
            try:
                assert httpx.post(url, json={}).status_code == 401
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        http = httpx2.AsyncClient(  # what streamable_http_client's docs say to pass for headers
            headers={"Authorization": f"Bearer {env.keys['write']}"}, timeout=httpx2.Timeout(30, read=300)
        )
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            assert "ingest" in {t.name for t in (await client.list_tools()).tools}
            found = await client.call_tool("search", {"query": "descale citric acid", "k": 1})
            assert found.structured_content["results"][0]["citation"]["file"] == "docs/public/kettle.md"
    finally:
        proc.terminate()
        proc.wait(10)


def test_stdio_flags_are_checked(env: Env) -> None:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    bad = subprocess.run(
        [sys.executable, "-m", "ragwright", "mcp", "--key", "rw_nope", "--data-dir", str(env.data_dir)],
        cwd=env.root,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert bad.returncode == 2 and "invalid or revoked API key" in bad.stderr and not bad.stdout


def test_visible_filters_narrow_to_the_keys_tags() -> None:
    open_key = local_key("acme")
    limited = local_key("acme", tags=("public", "faq"))
    assert open_key.scope.narrow(None) is None
    assert open_key.scope.narrow(Filters(tags=("x",))) == Filters(tags=("x",))
    assert limited.scope.narrow(None) == Filters(tags=("faq", "public"))
    assert limited.scope.narrow(Filters(tags=("public", "internal"))) == Filters(tags=("public",))
    assert limited.scope.narrow(Filters(tags=("internal",))) is False
    assert limited.scope.narrow(Filters(paths=("a/*",))) == Filters(paths=("a/*",), tags=("faq", "public"))
    assert store_tenant(limited) == "acme" and store_tenant(limited, "handbook") == "acme.handbook"
    with pytest.raises(UserError):
        local_key("acme", scopes=("root",))
    with pytest.raises(UserError):
        local_key("a.b")


def test_glob_literal_and_stitch() -> None:
    assert _glob_literal("a*b?[c].md") == "a[*]b[?][[]c].md"
    from ragwright.documents.model import Chunk
    from ragwright.store.base import StoredChunk

    text = "alpha beta gamma delta"

    def sc(start: int, end: int, ordinal: int) -> StoredChunk:
        chunk = Chunk(
            id=str(ordinal),
            doc_id="d",
            ordinal=ordinal,
            text=text[start:end],
            context="",
            char_start=start,
            char_end=end,
            heading_path=(),
            page=None,
            n_tokens=1,
        )
        return StoredChunk(chunk=chunk, doc_path="d", doc_title="", file_type="txt")

    assert stitch([sc(0, 10, 0), sc(6, 16, 1), sc(11, 22, 2)]) == text
    assert stitch([sc(0, 5, 0), sc(11, 16, 1)]) == "alpha\n\ngamma"


class _SlowTools(RagTools):
    async def search(self, key: ApiKey, args: SearchArgs) -> dict[str, Any]:
        await anyio.sleep(300)
        return {}


async def test_a_slow_tool_call_times_out(env: Env) -> None:
    rw = Ragwright(load_settings(data_dir=env.data_dir, embedding={"model": "fake"}))
    try:
        server = build_server(_SlowTools(rw), fixed_key(local_key("acme")), KeyRateLimiter(None), timeout=0.3)
        async with Client(server) as client:  # the official client, connected in process
            started = time.monotonic()
            slow = await client.call_tool("search", {"query": "kettle"})
            assert slow.is_error and "timed out after 0.3s" in slow.content[0].text  # type: ignore[union-attr]
            assert time.monotonic() - started < 60  # the 0.3 s tool deadline, not the tool's 300 s
            listed = await client.call_tool("list_documents", {})
            assert not listed.is_error and len(listed.structured_content["documents"]) == 2
    finally:
        rw.close()
