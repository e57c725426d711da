"""Paused agent runs decided over MCP: `ragwright mcp` as a subprocess, driven by the official MCP client.

The run is started in this process and pauses (``search`` needs approval); the MCP server, another process, lists it
and resumes it with edited arguments through the same rule as the HTTP route (the ``approve`` grant, the tenant, the
starter's tags), against a loopback OpenAI-compatible model that calls the first tool, then repeats what it returned.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.agents.records import CallStatus, RunStatus
from ragwright.agents.service import agent_runner, runs_path
from ragwright.agents.store import RunStore
from ragwright.agents.tools import ToolContext
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.service.keys import KeyStore
from ragwright.testing.openai_server import OpenAIServer
from tests.mcp.conftest import build_env, stdio_client, texts

AGENT_TOOLS = {"agent_pending_approvals", "agent_decide"}


async def paused_run(config: Path, data_dir: Path, key_tags: tuple[str, ...]) -> str:
    """A run of tenant acme, started by a key with ``key_tags``, paused at its first search."""
    rw = Ragwright(load_settings(config, data_dir=data_dir, embedding={"model": "fake"}))
    try:
        with KeyStore(data_dir / "keys.sqlite") as keys:
            _, starter = keys.create("acme", scopes=("read",), tags=key_tags)
        runner = agent_runner(rw)
        run = runner.new_run("How long is the kettle warranty?", ToolContext(starter), model=runner.model.name)
        async for _ in runner.drive(run):
            pass
        assert run.status is RunStatus.AWAITING_APPROVAL
        return run.id
    finally:
        rw.close()


async def test_an_approver_lists_and_decides_paused_runs_over_mcp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = build_env(tmp_path)
    with KeyStore(env.data_dir / "keys.sqlite") as keys:
        approver = keys.create("acme", scopes=("read", "approve"))[0]
        public_approver = keys.create("acme", scopes=("read", "approve"), tags=("public",))[0]
        other_approver = keys.create("other", scopes=("admin",))[0]
    with OpenAIServer() as server:
        config = tmp_path / "ragwright.toml"
        config.write_text(
            '[gateway]\nchain = ["loop:gpt-test"]\nledger = false\n'
            f'[gateway.providers.loop]\nkind = "openai"\nbase_url = "{server.base_url}"\napi_key = "env:LOOP_KEY"\n'
            '[agent]\nrequire_approval = ["search"]\n'
        )
        with monkeypatch.context() as mp:
            mp.setenv("LOOP_KEY", "sk-test")
            run_id = await paused_run(config, env.data_dir, ())

        async with stdio_client(env, RAGWRIGHT_API_KEY=env.keys["read"], LOOP_KEY="sk-test") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert not names & AGENT_TOOLS, "a read key does not see the approval tools"
            refused = await client.call_tool("agent_decide", {"run_id": run_id, "decisions": [{"call_id": "x"}]})
            assert refused.is_error and "approve" in texts(refused)

        async with stdio_client(env, RAGWRIGHT_API_KEY=other_approver, LOOP_KEY="sk-test") as client:
            assert (await client.call_tool("agent_pending_approvals", {})).structured_content == {"runs": []}
            decision = {"call_id": "x", "approve": True}
            missing = await client.call_tool("agent_decide", {"run_id": run_id, "decisions": [decision]})
            assert missing.is_error and "no agent run" in texts(missing)

        async with stdio_client(env, RAGWRIGHT_API_KEY=public_approver, LOOP_KEY="sk-test") as client:
            # the run's starter may read every tag; a key limited to 'public' does not cover it
            assert (await client.call_tool("agent_pending_approvals", {})).structured_content == {"runs": []}

        async with stdio_client(env, RAGWRIGHT_API_KEY=approver, LOOP_KEY="sk-test") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert AGENT_TOOLS <= set(tools)
            assert tools["agent_decide"].annotations.read_only_hint is False
            pending = (await client.call_tool("agent_pending_approvals", {})).structured_content["runs"]
            assert [r["id"] for r in pending] == [run_id]
            (call,) = pending[0]["calls"]
            assert call["name"] == "search" and call["status"] == "pending_approval"

            bad = {"call_id": call["call_id"], "approve": True, "arguments": {"query": ""}}
            invalid = await client.call_tool("agent_decide", {"run_id": run_id, "decisions": [bad]})
            assert invalid.is_error and "edited arguments for search are invalid" in texts(invalid)

            edited = {"call_id": call["call_id"], "approve": True, "arguments": {"query": "kettle warranty", "k": 2}}
            done = await client.call_tool("agent_decide", {"run_id": run_id, "decisions": [edited]})
            assert not done.is_error, texts(done)
            data = done.structured_content
            assert data["status"] == "done" and data["answer"].startswith("The tool returned:")
            (ran,) = data["calls"]
            assert ran["status"] == "done" and ran["arguments"]["query"] == "kettle warranty"
            assert "kettle.md" in ran["output"]
            assert "messages" not in data and "key" not in data

            again = await client.call_tool("agent_decide", {"run_id": run_id, "decisions": [edited]})
            assert again.is_error and "not awaiting approval" in texts(again)
            assert (await client.call_tool("agent_pending_approvals", {})).structured_content == {"runs": []}

    store = RunStore(runs_path(load_settings(config, data_dir=env.data_dir)))
    try:  # the decision made over MCP is the run's record for every front door; the search ran once
        calls = store.calls(run_id)
        assert [c.status for c in calls] == [CallStatus.DONE]
        assert sum(1 for r in server.requests if r.path.endswith("/chat/completions")) == 2
    finally:
        store.close()
