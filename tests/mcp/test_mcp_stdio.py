"""`ragwright mcp` over stdio, spawned as a subprocess and driven by the official MCP client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio

from ragwright.service.keys import KeyStore
from tests.mcp.conftest import INTERNAL, OTHER_TENANT, Env, stdio_client, tag_limited_calls, texts


async def test_read_only_stdio_lists_read_tools_and_cites(env: Env) -> None:
    async with stdio_client(env, "--tenant", "acme") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"search", "answer", "list_documents", "get_document"}
        assert tools["search"].input_schema["properties"]["query"]["minLength"] == 1
        assert tools["search"].input_schema.get("additionalProperties") is False

        found = await client.call_tool("search", {"query": "kettle warranty", "k": 3})
        assert not found.is_error
        results = found.structured_content["results"]
        top = results[0]["citation"]
        assert top["file"] in {"docs/public/kettle.md", "docs/internal/memo.md"}
        assert top["heading"] in {"Kettle › Warranty", "Memo › Margins"} and top["snippet"]
        assert OTHER_TENANT not in texts(found)  # tenant acme never sees tenant other

        answer = await client.call_tool("answer", {"question": "How long is the kettle warranty?"})
        data = answer.structured_content
        assert not answer.is_error and not data["abstained"] and "3 years" in data["answer"]
        assert data["answered_by"] == "extractive" and data["fallback"] is None
        cite = data["citations"][0]
        assert cite["file"] == "docs/public/kettle.md" and cite["heading"] == "Kettle › Warranty"
        assert "3 years" in cite["snippet"]

        refused = await client.call_tool("ingest", {"filename": "x.md", "text": "# X\n\nnew text"})
        assert refused.is_error and "write" in texts(refused)

        invalid = await client.call_tool("search", {"query": "kettle", "k": 0})
        assert invalid.is_error and "k" in texts(invalid)
        unknown_field = await client.call_tool("search", {"query": "kettle", "shell": "rm -rf /"})
        assert unknown_field.is_error


async def test_write_key_over_stdio_ingests_and_tag_limit_holds(env: Env) -> None:
    async with stdio_client(env, RAGWRIGHT_API_KEY=env.keys["public"]) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "ingest" in names

        added = await client.call_tool(
            "ingest", {"filename": "stdio-note.md", "text": "# Note\n\nThe teapot lid is made of cork oak."}
        )
        assert not added.is_error, texts(added)
        assert added.structured_content["tags"] == ["public"] and added.structured_content["status"] == "added"
        forbidden = await client.call_tool("ingest", {"filename": "leak.md", "text": "x y z", "tags": ["internal"]})
        assert forbidden.is_error

        found = await client.call_tool("search", {"query": "teapot lid cork", "k": 10})
        assert found.structured_content["results"][0]["citation"]["file"] == "stdio-note.md"
        for call in tag_limited_calls():
            result = await client.call_tool(*call)
            assert INTERNAL not in texts(result) and "42 percent" not in texts(result)
        docs = (await client.call_tool("list_documents", {})).structured_content["documents"]
        assert "docs/internal/memo.md" not in {d["doc_id"] for d in docs}


async def test_a_key_revoked_while_the_stdio_process_runs_stops_working(env: Env) -> None:
    with KeyStore(env.data_dir / "keys.sqlite") as store:
        raw, key = store.create("acme", scopes=("read",), name="revoke-me")
    async with stdio_client(env, RAGWRIGHT_API_KEY=raw) as client:
        ok = await client.call_tool("search", {"query": "kettle warranty", "k": 3})
        assert not ok.is_error and ok.structured_content["results"]
        with KeyStore(env.data_dir / "keys.sqlite") as store:  # as `ragwright keys revoke` does, from elsewhere
            assert store.revoke(key.key_id)
        deadline = time.monotonic() + 60  # the server trusts a verified key for up to 1 s (service.keys cache)
        while True:
            result = await client.call_tool("search", {"query": "kettle warranty", "k": 3})
            if result.is_error or time.monotonic() > deadline:
                break
            await anyio.sleep(0.1)
        assert result.is_error and texts(result).startswith("invalid or revoked API key (request id ")
        assert not result.structured_content
        assert (await client.list_tools()).tools == []


async def test_key_file_serves_and_key_flag_warns(env: Env, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(env.keys["read"] + "\n")
    key_file.chmod(0o600)
    async with stdio_client(env, "--key-file", str(key_file)) as client:
        found = await client.call_tool("search", {"query": "descale citric acid", "k": 1})
        assert found.structured_content["results"][0]["citation"]["file"] == "docs/public/kettle.md"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ragwright", "mcp", "--data-dir", str(env.data_dir), *args],
            cwd=env.root,
            env={**child_env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    flag = run("--key", "rw_000000000000_" + "x" * 43)
    warning = (
        "warning: --key puts the API key on the command line, where `ps` shows it; use RAGWRIGHT_API_KEY or --key-file"
    )
    assert flag.returncode == 2 and flag.stderr.splitlines()[0] == warning
    from_env = run(RAGWRIGHT_API_KEY="rw_000000000000_" + "x" * 43)
    assert from_env.returncode == 2 and "warning" not in from_env.stderr and "invalid or revoked" in from_env.stderr
    missing = run("--key-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "cannot read --key-file" in missing.stderr
