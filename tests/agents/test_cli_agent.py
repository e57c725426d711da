"""`ragwright agent run|show|list` in a subprocess, against a loopback OpenAI-compatible server that calls tools."""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.testing.openai_server import OpenAIServer
from tests.cli.test_cli import run
from tests.conftest import write


def test_agent_run_searches_and_answers_then_show_and_list(tmp_path: Path) -> None:
    write(tmp_path / "docs/kettle.md", "# Kettle\n\n## Warranty\n\nThe kettle has a warranty of 3 years.\n")
    with OpenAIServer() as server:
        (tmp_path / "ragwright.toml").write_text(
            '[gateway]\nchain = ["loop:gpt-test"]\nledger = false\n'
            f'[gateway.providers.loop]\nkind = "openai"\nbase_url = "{server.base_url}"\napi_key = "env:LOOP_KEY"\n'
        )
        assert run(["ingest", "docs"], tmp_path).returncode == 0
        out = run(["agent", "run", "How long is the warranty?", "--json"], tmp_path, LOOP_KEY="sk-test")
        assert out.returncode == 0, out.stderr
        events = [json.loads(line) for line in out.stdout.splitlines()]
        assert [e["kind"] for e in events] == ["step", "tool_call", "tool_result", "step", "final"]
        assert events[1]["name"] == "search" and events[2]["status"] == "done"
        assert "kettle.md" in events[2]["output"]  # the search really ran over the index
        assert events[4]["answer"].startswith("The tool returned:")
        # the request carried the tools' schemas, and the secret never reached the output
        sent = server.requests[0].body
        assert {t["function"]["name"] for t in sent["tools"]} == {"search", "answer", "get_document"}
        assert "sk-test" not in out.stdout + out.stderr
    run_id = events[0]["run_id"]
    shown = run(["agent", "show", run_id, "--json"], tmp_path)
    data = json.loads(shown.stdout)
    assert data["status"] == "done" and data["calls"][0]["status"] == "done" and data["usage"]["tool_calls"] == 1
    listed = run(["agent", "list", "--json"], tmp_path)
    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]
    missing = run(["agent", "show", "run_nope"], tmp_path)
    assert missing.returncode == 2 and "no agent run 'run_nope'" in missing.stderr and "Traceback" not in missing.stderr
    bad = run(["agent", "run", "x", "--approve", "maybe"], tmp_path)
    assert bad.returncode == 2 and "--approve must be one of ask, all, none" in bad.stderr
