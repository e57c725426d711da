"""Agent runs over HTTP on a real server: SSE events, tag-scoped tools, approvals that survive a restart."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.config import load_settings
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, ScriptedGateway
from ragwright.testing.fake_chat import Reply
from tests.http.conftest import clean_env, run_server


def planner(req: ChatRequest) -> Reply | str:
    """Search, then read the first document found, then answer."""
    results = [m.content or "" for m in req.messages if m.role == "tool"]
    if not results:
        return Reply(tool_calls=(ToolCall("s1", "search", json.dumps({"query": "warranty memo"})),))
    if len(results) == 1:
        return Reply(tool_calls=(ToolCall("g1", "get_document", json.dumps({"doc_id": "kettle.md"})),))
    return "The kettle warranty is 3 years [1]."


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@contextlib.contextmanager
def serving(data: Path, model: FakeChatModel) -> Any:
    settings = load_settings(
        data_dir=data,
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False, "chain": ["fake:agent"]},
        agent={"require_approval": ["get_document"]},
    )
    app = create_app(settings, gateway=ScriptedGateway({"fake:agent": model}))
    with contextlib.contextmanager(run_server)(app) as url:
        yield app, url


def test_run_pauses_for_approval_and_resumes_after_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    first = FakeChatModel(planner, name="fake:agent")
    with serving(tmp_path / "data", first) as (app, url):
        keys = app.state.service.keys
        writer, _ = keys.create("acme", scopes=("write",))
        reader, _ = keys.create("acme", scopes=("read",))
        public, _ = keys.create("acme", scopes=("read",), tags=("public",))
        approver, _ = keys.create("acme", scopes=("read", "approve"))
        other, _ = keys.create("other", scopes=("admin",))
        h = {k: {"Authorization": f"Bearer {v}"} for k, v in [("w", writer), ("r", reader), ("p", public)]}
        with httpx.Client(base_url=url, timeout=60) as c:
            for name, text, tag in [
                ("kettle.md", "# Kettle\n\nThe kettle warranty is 3 years.", "public"),
                ("memo.md", "# Memo\n\nWarranty memo intmark: margins are 42 percent.", "internal"),
            ]:
                r = c.post(
                    "/v1/documents", headers=h["w"], files=[("files", (name, text.encode()))], data={"tags": tag}
                )
                assert r.status_code == 202, r.text
                job = r.json()["id"]
                deadline = time.monotonic() + 120  # a bound, so a job that never ends fails instead of hanging
                while c.get(f"/v1/jobs/{job}", headers=h["w"]).json()["status"] not in ("succeeded", "failed"):
                    assert time.monotonic() < deadline, f"job {job} did not finish"
                    time.sleep(0.05)
            # a tag-limited key's run: its search never shows the internal memo
            r = c.post("/v1/agent/runs", headers=h["p"], json={"task": "warranty?", "approve": "none"})
            seen = events(r.text)
            search_out = next(d for k, d in seen if k == "tool_result" and d["name"] == "search")["output"]
            assert "kettle.md" in search_out and "intmark" not in search_out
            # the unrestricted reader's run pauses at get_document
            r = c.post("/v1/agent/runs", headers=h["r"], json={"task": "How long is the kettle warranty?"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            seen = events(r.text)
            assert [k for k, _ in seen] == [
                "step",
                "tool_call",
                "tool_result",
                "step",
                "tool_call",
                "approval_required",
            ]
            run_id = seen[0][1]["run_id"]
            assert "intmark" in seen[2][1]["output"]  # this key may read the memo
            # who may read and approve it
            assert c.get(f"/v1/agent/runs/{run_id}", headers=h["p"]).status_code == 404  # does not cover the reader
            assert c.get(f"/v1/agent/runs/{run_id}", headers={"Authorization": f"Bearer {other}"}).status_code == 404
            decision = {"decisions": [{"call_id": "g1", "approve": True}]}
            assert c.post(f"/v1/agent/runs/{run_id}/approvals", headers=h["r"], json=decision).status_code == 403
    assert first.calls == 5  # three for the public run (its get_document denied by policy), two before the pause
    # a new server process over the same data directory
    second = FakeChatModel(planner, name="fake:agent")
    with serving(tmp_path / "data", second) as (app, url), httpx.Client(base_url=url, timeout=60) as c:
        auth = {"Authorization": f"Bearer {approver}"}
        run = c.get(f"/v1/agent/runs/{run_id}", headers=auth).json()
        assert run["status"] == "awaiting_approval" and run["calls"][1]["status"] == "pending_approval"
        bad = {"decisions": [{"call_id": "g1", "approve": True, "arguments": {"doc_id": 7}}]}
        r = c.post(f"/v1/agent/runs/{run_id}/approvals", headers=auth, json=bad)
        assert r.status_code == 409 and "doc_id: Input should be a valid string" in r.json()["error"]["message"]
        r = c.post(f"/v1/agent/runs/{run_id}/approvals", headers=auth, json={**decision, "stream": False})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "done" and done["answer"] == "The kettle warranty is 3 years [1]."
        assert [call["status"] for call in done["calls"]] == ["done", "done"] and "messages" not in done
        assert second.calls == 1  # the paused step was not replayed
        again = c.post(f"/v1/agent/runs/{run_id}/approvals", headers=auth, json=decision)
        assert again.status_code == 409 and "not awaiting approval" in again.json()["error"]["message"]
        listed = c.get("/v1/agent/runs", headers=auth).json()["data"]
        assert run_id in [x["id"] for x in listed]


def test_an_http_run_uses_the_tenants_production_agent_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tenant's own version of the agent prompt, labelled production, is what HTTP runs are given (as CLI runs
    are); the HTTP runner used to be built without the prompt registry, so it always sent the packaged prompt."""
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    systems: list[str] = []

    def answer(req: ChatRequest) -> str:
        systems.append(req.messages[0].content or "")
        return "Nothing to look up."

    with serving(tmp_path / "data", FakeChatModel(answer, name="fake:agent")) as (app, url):
        admin, _ = app.state.service.keys.create("acme", scopes=("admin",))
        h = {"Authorization": f"Bearer {admin}"}
        with httpx.Client(base_url=url, timeout=60) as c:
            made = c.post(
                "/v1/prompts/agent/versions", headers=h, json={"template": "ACME AGENT RULES", "variables": []}
            )
            assert made.status_code == 201, made.text
            version = made.json()["version"]
            r = c.put("/v1/prompts/agent/labels/production", headers=h, json={"version": version})
            assert r.status_code == 200, r.text
            r = c.post("/v1/agent/runs", headers=h, json={"task": "hello", "approve": "none"})
            assert r.status_code == 200, r.text
    assert systems and systems[0].startswith("ACME AGENT RULES")
