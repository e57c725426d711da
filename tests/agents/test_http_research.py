"""``POST /v1/research`` on a real server: SSE events then the checked report, the key's tenant and tags, limits."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.agents.test_http_agent import events
from tests.agents.test_research import DESCALE, SECRET, WARRANTY, scripted
from tests.http.conftest import clean_env, run_server


@contextlib.contextmanager
def serving(root: Path, model: FakeChatModel) -> Any:
    settings = load_settings(
        data_dir=root / "data",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False, "chain": ["fake:research"]},
    )
    app = create_app(settings, gateway=ScriptedGateway({"fake:research": model}))
    with contextlib.contextmanager(run_server)(app) as url:
        yield app, url


def upload(c: httpx.Client, raw: str, name: str, text: str, kb: str, tags: str) -> None:
    auth = {"Authorization": f"Bearer {raw}"}
    r = c.post(
        "/v1/documents",
        headers=auth,
        files=[("files", (name, text.encode()))],
        data={"knowledge_base": kb, "tags": tags},
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    deadline = time.monotonic() + 120  # a bound, so a job that never ends fails instead of hanging
    while (status := c.get(f"/v1/jobs/{job}", headers=auth).json()["status"]) not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job {job} did not finish"
        time.sleep(0.05)
    assert status == "succeeded"


def test_research_streams_its_searches_then_the_checked_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    model = FakeChatModel(scripted, name="fake:research")
    with serving(tmp_path, model) as (app, url):
        keys = app.state.service.keys
        writer, _ = keys.create("acme", scopes=("write",))
        reader, _ = keys.create("acme", scopes=("read",))
        public, _ = keys.create("acme", scopes=("read",), tags=("public",))
        with httpx.Client(base_url=url, timeout=60) as c:
            upload(c, writer, "warranty.md", WARRANTY, "default", "public")
            upload(c, writer, "margins.md", SECRET, "default", "internal")
            upload(c, writer, "descale.md", DESCALE, "support", "public")
            body = {"question": "How long is the kettle warranty and how do I descale it?"}
            r = c.post(
                "/v1/research",
                headers={"Authorization": f"Bearer {reader}"},
                json={**body, "knowledge_bases": ["default", "support"]},
            )
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text
            got = events(r.text)
            kinds = [k for k, _ in got]
            assert kinds[0] == "step" and kinds[-2:] == ["final", "report"] and "error" not in kinds
            searched = [d["arguments"]["knowledge_base"] for k, d in got if k == "tool_call"]
            assert searched == ["default", "support"] * 2
            report = got[-1][1]
            assert {"warranty.md", "descale.md"} <= {p["source"] for p in report["passages"]}
            statuses = {c["text"][:20]: c["status"] for s in report["sections"] for c in s["claims"]}
            assert statuses["The kettle warranty "] == "supported" and statuses["Descale the kettle e"] == "recited"
            assert report["not_found"] == ["the price"]
            assert report["citation_precision"] == pytest.approx(1 / 3, abs=1e-3)
            run = c.get(f"/v1/agent/runs/{report['run_id']}", headers={"Authorization": f"Bearer {reader}"}).json()
            assert run["status"] == "done" and [x["name"] for x in run["calls"]] == ["search"] * 4

            # a tag-limited key: its searches never see the internal memo; stream false gives the report alone
            plain = c.post(
                "/v1/research", headers={"Authorization": f"Bearer {public}"}, json={**body, "stream": False}
            ).json()
            assert plain["run_id"] and "margins.md" not in {p["source"] for p in plain["passages"]}
            full = c.post(
                "/v1/research", headers={"Authorization": f"Bearer {reader}"}, json={"question": "kettle margin memo"}
            )
            assert "margins.md" in {p["source"] for p in events(full.text)[-1][1]["passages"]}

            bad_kb = c.post(
                "/v1/research", headers={"Authorization": f"Bearer {reader}"}, json={**body, "knowledge_bases": ["a b"]}
            )
            assert bad_kb.status_code in (400, 422)
            unknown = c.post(
                "/v1/research", headers={"Authorization": f"Bearer {reader}"}, json={**body, "model": "fake:nope"}
            )
            assert unknown.status_code in (400, 404), unknown.text
            assert c.post("/v1/research", json=body).status_code == 401
