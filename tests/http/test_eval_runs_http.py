"""Eval runs over HTTP, as the Evaluations page uses them: start a run from a dataset, poll it, read its summary and
failing cases, its HTML report, compare two runs, the gate's verdict; and who may see and start what."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.http.conftest import Server

GUIDE = (
    b"# Kettle guide\n\n## Descaling\n\nDescale the kettle every month with vinegar.\n\n"
    b"## Warranty\n\nThe kettle has a warranty of three years.\n"
)
CASES = [
    {"id": "c1", "question": "How long is the kettle warranty?", "reference_answer": "three years",
     "relevant": {"guide.md": 1}},
    {"id": "c2", "question": "How often should the kettle be descaled?", "reference_answer": "every month",
     "relevant": {"guide.md": 1}},
    {"id": "c3", "question": "What colour is the lid?", "answerable": False},
]  # fmt: skip
# latency gets a wide regression tolerance: the second run may be slower on a loaded machine, and the gate would
# rightly call three uniformly slower cases a regression
GATE = '[metrics."hit@10"]\nmin = 0.5\n[metrics.latency_ms]\nmax = 60000\nmax_regression = 60000\n'


def _evals_dir(server: Server, kb_tenant: str = "acme") -> Path:
    return Path(server.settings.data_dir) / "evals" / kb_tenant


def _dataset(server: Server, name: str = "smoke") -> None:
    folder = _evals_dir(server) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")


def _wait(c: httpx.Client, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run: dict[str, Any] = c.get(f"/v1/evals/runs/{name}/status").json()
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {name} did not finish")


def test_a_run_started_from_a_dataset_is_listed_reported_compared_and_gated(server: Server) -> None:
    writer = server.key()
    server.upload(writer, {"guide.md": GUIDE})
    _dataset(server)
    with server.client(writer) as c:
        assert c.get("/v1/evals/datasets").json()["data"] == ["smoke"]
        started = c.post("/v1/evals/runs", json={"dataset": "smoke", "name": "base"})
        assert started.status_code == 202, started.text
        assert started.json()["status"] in ("queued", "running") and started.json()["cases"] == 3
        assert _wait(c, "base")["status"] == "succeeded"
        assert c.post("/v1/evals/runs", json={"dataset": "smoke", "name": "base"}).status_code == 409
        assert c.post("/v1/evals/runs", json={"dataset": "nothing"}).status_code == 404
        assert c.post("/v1/evals/runs", json={"dataset": "smoke", "name": "new"}).status_code == 202
        done = _wait(c, "new")
        assert done["status"] == "succeeded" and done["cases_done"] == 3
        assert [r["name"] for r in c.get("/v1/evals/runs").json()["data"]] == ["new", "base"]

        detail = c.get("/v1/evals/runs/base").json()
        assert detail["summary"]["cases"] == 3 and detail["dataset"] == "smoke"
        assert "hit@10" in detail["summary"]["metrics"]
        for case in detail["failing"]:  # failing cases carry what was retrieved for them
            assert case["error"] or "retrieved" in case

        report = c.get("/v1/evals/runs/base/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "sandbox" in report.headers["content-security-policy"] and "ragwright eval: base" in report.text

        comparison = c.get("/v1/evals/compare", params={"base": "base", "new": "new"}).json()
        hit = next(m for m in comparison["metrics"] if m["metric"] == "hit@10")
        assert hit["delta"] == 0 and hit["ci95"] == [0, 0] and hit["verdict"] == "no detectable change"

        no_policy = c.get("/v1/evals/runs/new/gate").json()
        assert no_policy["passed"] is None and no_policy["policy"] == "evals/acme/gate.toml"
        (_evals_dir(server) / "gate.toml").write_text(GATE, encoding="utf-8")
        verdict = c.get("/v1/evals/runs/new/gate", params={"baseline": "base"}).json()
        assert verdict["passed"] is True and verdict["failures"] == [], verdict
        assert any(p.startswith("hit@10") for p in verdict["passes"])

        assert c.get("/v1/evals/runs/missing").status_code == 404
        assert c.get("/v1/evals/runs/base", params={"knowledge_base": "other"}).status_code == 404


def test_runs_follow_tenant_scope_and_tags(server: Server) -> None:
    writer = server.key()
    server.upload(writer, {"guide.md": GUIDE}, tags="public")
    _dataset(server)
    with server.client(writer) as c:
        assert c.post("/v1/evals/runs", json={"dataset": "smoke", "name": "base"}).status_code == 202
        assert _wait(c, "base")["status"] == "succeeded"
    with server.client(server.key(scopes=("read",))) as c:  # a reader of the tenant reads it, may not start one
        assert [r["name"] for r in c.get("/v1/evals/runs").json()["data"]] == ["base"]
        assert c.get("/v1/evals/runs/base").status_code == 200
        assert c.post("/v1/evals/runs", json={"dataset": "smoke"}).status_code == 403
    with server.client(server.key(tags=("public",))) as c:  # tag-limited: the run is not limited to its tags
        assert c.get("/v1/evals/runs").json()["data"] == []
        assert c.get("/v1/evals/runs/base").status_code == 404
        assert c.get("/v1/evals/runs/base/report").status_code == 404
        assert c.get("/v1/evals/datasets").json()["data"] == []
        refused = c.post("/v1/evals/runs", json={"dataset": "smoke"})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "forbidden"
    with server.client(server.key(tenant="other")) as c:  # another tenant
        assert c.get("/v1/evals/runs").json()["data"] == []
        assert c.get("/v1/evals/runs/base").status_code == 404
        assert c.get("/v1/evals/compare", params={"base": "base", "new": "base"}).status_code == 404


def test_a_run_in_another_knowledge_base_records_the_tenants_own_prompt_versions(server: Server) -> None:
    admin = server.key(scopes=("admin",))
    server.upload(admin, {"guide.md": GUIDE}, kb="handbook")
    folder = _evals_dir(server, "acme.handbook") / "datasets"
    folder.mkdir(parents=True)
    (folder / "smoke.jsonl").write_text(json.dumps(CASES[0]) + "\n", encoding="utf-8")
    with server.client(admin) as c:
        made = c.post("/v1/prompts/answer/versions", json={"template": "Short. $boundary", "variables": ["boundary"]})
        assert made.status_code == 201, made.text
        version, tag = made.json()["version"], made.json()["tag"]
        assert c.put("/v1/prompts/answer/labels/production", json={"version": version}).status_code == 200
        started = c.post("/v1/evals/runs", json={"dataset": "smoke", "name": "kb", "knowledge_base": "handbook"})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 120
        while c.get("/v1/evals/runs/kb/status", params={"knowledge_base": "handbook"}).json()["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        run = c.get("/v1/evals/runs/kb", params={"knowledge_base": "handbook"}).json()
    assert run["prompt_versions"]["answer"] == tag  # acme's, which the answers used (not the packaged default)
