"""MCP `ingest` of hostile files: parsed in the ingest worker process, never in the MCP server process."""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from ragwright.testing.bombs import docx_bomb, plain_docx
from tests.mcp.conftest import Env, texts

# The server runs under a 3 GiB address-space cap, so an old-style in-process parse of the bomb fails there instead of
# taking the shared machine's memory; the worker it starts inherits the cap and sets its own lower one.
_LIMITED = (
    "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30)); "
    "sys.argv = ['ragwright', *sys.argv[1:]]; runpy.run_module('ragwright', run_name='__main__')"
)


@asynccontextmanager
async def limited_client(env: Env, key: str) -> AsyncIterator[Client]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    child_env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", RAGWRIGHT_API_KEY=key)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", _LIMITED, "mcp", "--data-dir", str(env.data_dir)],
        env=child_env,
        cwd=str(env.root),
    )
    async with Client(params, read_timeout_seconds=120) as client:
        yield client


def _server_pid(data_dir: Path) -> int:
    """The `ragwright mcp` process serving ``data_dir`` (a child of this test process)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and str(data_dir).encode() in argv and b"mcp" in argv:
            return int(entry.name)
    raise AssertionError("no MCP server process found")


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_mcp_ingest_of_a_zip_bomb_leaves_the_server_alive_and_small(env: Env) -> None:
    bomb = base64.b64encode(docx_bomb(512 * 2**20)).decode()
    async with limited_client(env, env.keys["write"]) as client:
        pid = _server_pid(env.data_dir)
        refused = await client.call_tool("ingest", {"filename": "bomb.docx", "content_base64": bomb})
        assert refused.is_error
        assert "word/document.xml inflates" in texts(refused) and "per entry" in texts(refused), texts(refused)
        still = await client.call_tool("search", {"query": "kettle warranty", "k": 3})
        assert not still.is_error and still.structured_content["results"]
        assert _hwm_mb(pid) < 400, f"MCP server peak RSS {_hwm_mb(pid):.0f} MB"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_mcp_ingest_parses_files_outside_the_server_process(env: Env) -> None:
    docx = base64.b64encode(plain_docx("The walnut cabinet has brass hinges.")).decode()
    async with limited_client(env, env.keys["write"]) as client:
        pid = _server_pid(env.data_dir)
        added = await client.call_tool("ingest", {"filename": "cabinet.docx", "content_base64": docx})
        assert not added.is_error and added.structured_content["status"] in ("added", "unchanged"), texts(added)
        found = await client.call_tool("search", {"query": "walnut cabinet brass hinges", "k": 3})
        assert found.structured_content["results"][0]["citation"]["file"] == "cabinet.docx"
        mapped = Path(f"/proc/{pid}/maps").read_text()
        assert "lxml" not in mapped and "docx" not in mapped  # python-docx and lxml never loaded in the server
