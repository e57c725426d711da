"""The run rule the JSON routes and the web UI share (interfaces/http/agent_runs): who sees a run, who decides."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ragwright.agents.records import CallStatus, Decision, RunStatus
from ragwright.errors import AccessDenied, AgentRunError, AgentRunNotFound
from ragwright.interfaces.http.agent_runs import decide, visible_run, visible_runs
from ragwright.testing import FakeChatModel
from tests.agents.test_http_agent import planner, serving
from tests.http.conftest import clean_env


def test_runs_are_seen_by_covering_keys_and_decided_with_the_approve_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    model = FakeChatModel(planner, name="fake:agent")
    with serving(tmp_path / "data", model) as (app, url):
        state = app.state.service
        keys = state.keys
        raw_reader, reader = keys.create("acme", scopes=("read",))
        raw_public, public = keys.create("acme", scopes=("read",), tags=("public",))
        _, admin = keys.create("acme", scopes=("admin",))
        _, limited_admin = keys.create("acme", scopes=("admin",), tags=("public",))
        _, other = keys.create("other", scopes=("admin",))
        ids = {}
        with httpx.Client(base_url=url, timeout=60) as c:
            for name, raw in (("reader", raw_reader), ("public", raw_public)):
                r = c.post(
                    "/v1/agent/runs",
                    headers={"Authorization": f"Bearer {raw}"},
                    json={"task": "How long is the kettle warranty?", "stream": False},
                )
                assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
                ids[name] = r.json()["id"]

        paused = RunStatus.AWAITING_APPROVAL
        assert {r.id for r in visible_runs(state, admin, status=paused)} == set(ids.values())
        assert [r.id for r in visible_runs(state, limited_admin)] == [ids["public"]]
        assert visible_runs(state, other) == [] and visible_runs(state, admin, status=RunStatus.DONE) == []
        for key, run_id in ((limited_admin, ids["reader"]), (other, ids["public"]), (admin, "run_missing")):
            with pytest.raises(AgentRunNotFound):
                visible_run(state, key, run_id)
        with pytest.raises(AccessDenied):
            asyncio.run(decide(state, reader, ids["reader"], [Decision("g1", approve=True)]))
        with pytest.raises(AgentRunNotFound):
            asyncio.run(decide(state, limited_admin, ids["reader"], [Decision("g1", approve=True)]))
        with pytest.raises(AgentRunError):
            asyncio.run(decide(state, admin, ids["reader"], [Decision("nope", approve=True)]))

        done = asyncio.run(decide(state, admin, ids["reader"], [Decision("g1", approve=True)]))
        assert done.status is RunStatus.DONE and done.answer == "The kettle warranty is 3 years [1]."
        denied = asyncio.run(decide(state, limited_admin, ids["public"], [Decision("g1", approve=False, reason="no")]))
        assert [c.status for c in state.agent_runs.calls(denied.id)][1] is CallStatus.DENIED
        assert visible_run(state, public, ids["public"]).status is not paused
        with pytest.raises(AgentRunError):  # decided once: not paused any more
            asyncio.run(decide(state, admin, ids["reader"], [Decision("g1", approve=True)]))
