"""`ragwright agent run|resume|show|list` in a subprocess, against a loopback OpenAI-compatible server calling tools."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ragwright.testing.openai_server import OpenAIServer
from tests.cli.test_cli import run
from tests.conftest import write


def configure(root: Path, server: OpenAIServer, extra: str = "") -> None:
    """A ragwright.toml whose only model is the loopback server (its key comes from LOOP_KEY), plus ``extra``."""
    (root / "ragwright.toml").write_text(
        '[gateway]\nchain = ["loop:gpt-test"]\nledger = false\n'
        f'[gateway.providers.loop]\nkind = "openai"\nbase_url = "{server.base_url}"\napi_key = "env:LOOP_KEY"\n' + extra
    )


def test_agent_run_searches_and_answers_then_show_and_list(tmp_path: Path) -> None:
    write(tmp_path / "docs/kettle.md", "# Kettle\n\n## Warranty\n\nThe kettle has a warranty of 3 years.\n")
    with OpenAIServer() as server:
        configure(tmp_path, server)
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
        assert {t["function"]["name"] for t in sent["tools"]} == {"search", "answer", "get_document", "extract"}
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


def test_agent_resume_approves_and_denies_through_the_shared_rule(tmp_path: Path) -> None:
    write(tmp_path / "docs/kettle.md", "# Kettle\n\n## Warranty\n\nThe kettle has a warranty of 3 years.\n")
    with OpenAIServer() as server:
        configure(tmp_path, server, '[agent]\nrequire_approval = ["search"]\n')
        assert run(["ingest", "docs"], tmp_path).returncode == 0
        paused = []
        for _ in range(2):  # stdin is not a terminal: the run pauses and says how to go on
            out = run(["agent", "run", "How long is the warranty?", "--json"], tmp_path, LOOP_KEY="sk-test")
            assert out.returncode == 0, out.stderr
            events = [json.loads(line) for line in out.stdout.splitlines()]
            assert events[-1]["kind"] == "approval_required" and events[-1]["name"] == "search"
            assert f"ragwright agent resume {events[0]['run_id']} --approve CALL" in " ".join(out.stderr.split())
            paused.append((events[0]["run_id"], events[-1]["call_id"]))
        (approved, call), (denied, call2) = paused
        out = run(["agent", "resume", approved, "--approve", call, "--json"], tmp_path, LOOP_KEY="sk-test")
        assert out.returncode == 0, out.stderr
        events = [json.loads(line) for line in out.stdout.splitlines()]
        assert [e["kind"] for e in events] == ["tool_result", "step", "final"]
        assert events[0]["status"] == "done" and "kettle.md" in events[0]["output"]  # the search ran, once
        out = run(["agent", "resume", denied, "--deny", call2], tmp_path, LOOP_KEY="sk-test")
        assert out.returncode == 0, out.stderr
        assert "← denied" in out.stdout and "A:" in out.stdout  # the model was told, and answered
    shown = json.loads(run(["agent", "show", approved, "--json"], tmp_path).stdout)
    assert shown["status"] == "done" and [c["status"] for c in shown["calls"]] == ["done"]
    shown = json.loads(run(["agent", "show", denied, "--json"], tmp_path).stdout)
    assert shown["status"] == "done" and [c["status"] for c in shown["calls"]] == ["denied"]
    # errors stay one line and exit 2: a run that is not paused, a missing run, --args without one --approve
    again = run(["agent", "resume", approved, "--approve", call], tmp_path, LOOP_KEY="sk-test")
    assert again.returncode == 2 and f"run {approved} is done, not awaiting approval" in again.stderr
    missing = run(["agent", "resume", "run_nope", "--approve", "g1"], tmp_path)
    assert missing.returncode == 2 and "no agent run 'run_nope'" in missing.stderr
    bad = run(["agent", "resume", denied, "--args", "{}"], tmp_path)
    assert bad.returncode == 2 and "--args edits one call" in bad.stderr
    assert "Traceback" not in again.stderr + missing.stderr + bad.stderr


def test_eval_agent_then_report_and_gate(tmp_path: Path) -> None:
    write(tmp_path / "docs/kettle.md", "# Kettle\n\n## Warranty\n\nThe kettle has a warranty of 3 years.\n")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps(
            {
                "id": "w",
                "task": "How long is the kettle warranty?",
                "tags": ["dev"],
                "reference_calls": [{"name": "search", "args": {}}],
                "outcome": {"contains": ["3 years"]},
            }
        )
        + "\n"
    )
    with OpenAIServer() as server:
        configure(tmp_path, server)
        assert run(["ingest", "docs"], tmp_path).returncode == 0
        out = run(["eval", "agent", "tasks.jsonl", "--out", "runs/agent.json"], tmp_path, LOOP_KEY="sk-test")
        assert out.returncode == 0, out.stderr
    # the echo model searches once, then repeats the tool's output: the right tool, and the passage holds the fact
    assert re.search(r"tool_f1\s+1\.000", out.stdout) and re.search(r"goal_success\s+1\.000", out.stdout)
    report = run(["eval", "report", "runs/agent.json", "--html", "runs/agent.html"], tmp_path)
    assert report.returncode == 0 and "tool_f1" in (tmp_path / "runs/agent.html").read_text()
    (tmp_path / "gate.toml").write_text("[metrics.tool_f1]\nmin = 0.9\n[metrics.wasted_calls]\nmax = 0\n")
    gate = run(["eval", "gate", "runs/agent.json", "--policy", "gate.toml"], tmp_path)
    assert gate.returncode == 0 and "gate: passed" in gate.stdout
    (tmp_path / "gate.toml").write_text("[metrics.steps]\nmax = 1\n")
    assert run(["eval", "gate", "runs/agent.json", "--policy", "gate.toml"], tmp_path).returncode == 1


def test_research_names_an_mcp_source_that_is_not_configured(tmp_path: Path) -> None:
    out = run(["research", "What is the warranty?", "--source", "shop__search"], tmp_path)
    assert out.returncode == 2 and "no MCP tool shop__search (configured: none)" in out.stderr
    assert "Traceback" not in out.stderr
