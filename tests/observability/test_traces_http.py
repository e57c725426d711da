"""``GET /v1/traces`` and ``/v1/traces/{id}`` for a tag-limited admin key: its own tenant only, another document's
id and text hidden, message content hidden when the trace retrieved a document it may not read; deleting a document
takes its text out of the trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ragwright.config import load_settings
from ragwright.interfaces.http.app import create_app
from ragwright.observability import semconv, tracing
from ragwright.observability.trace_store import open_trace_store
from ragwright.testing import ScriptedGateway
from tests.http.conftest import Server, clean_env
from tests.http.conftest import run_server as _run_server

run_server = contextmanager(_run_server)
TRACE = "6e0c63257de34c92bf9efcd03927272e"


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = load_settings(
        data_dir=tmp_path / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False},
        observability={"tracing": "local", "capture_content": True},
    )
    app = create_app(settings, gateway=ScriptedGateway({}))
    with run_server(app) as url:
        yield Server(app, url, settings, {})


def test_a_tag_limited_admin_sees_only_what_its_tags_allow(traced: Server) -> None:
    writer = traced.key(scopes=("write",))
    job = traced.upload(writer, {"pub.md": b"# Pub\n\nThe lantern budget is public."}, tags="public")
    assert job["status"] == "succeeded"
    job = traced.upload(writer, {"hr.md": b"# HR\n\nThe lantern salary is secret."}, tags="hr")
    assert job["status"] == "succeeded"
    admin = traced.key(scopes=("admin",))
    limited = traced.key(scopes=("admin",), tags=("public",))
    other = traced.key(tenant="other", scopes=("admin",))
    with traced.client(admin) as c:
        headers = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
        r = c.post("/v1/search", json={"query": "lantern budget salary", "k": 5}, headers=headers)
        assert r.status_code == 200 and len(r.json()["hits"]) == 2
    assert tracing.flush()

    with traced.client(admin) as c:
        full = c.get(f"/v1/traces/{TRACE}").json()
        listed = c.get("/v1/traces").json()
    assert TRACE in [t["trace_id"] for t in listed["data"]]
    root = next(t["root"] for t in listed["data"] if t["trace_id"] == TRACE)
    with traced.client(admin) as c:
        assert TRACE in str(c.get("/v1/traces", params={"root": root, "min_ms": 0}).json())
        assert c.get("/v1/traces", params={"root": "no such root"}).json()["data"] == []
        assert TRACE not in str(c.get("/v1/traces", params={"errors": True}).json())  # the search did not fail
        assert c.get("/v1/traces", params={"min_ms": -1}).status_code == 422
    texts = {ch["doc_id"]: ch["text"] for ch in full["chunks"]}
    assert texts.keys() == {"pub.md", "hr.md"} and "secret" in texts["hr.md"]
    retrieval = next(s for s in full["spans"] if s["name"].startswith("retrieval "))
    assert "lantern" in retrieval["content"]["gen_ai.retrieval.query.text"]

    with traced.client(limited) as c:
        seen = c.get(f"/v1/traces/{TRACE}").json()
    shown = {ch["doc_id"]: ch["text"] for ch in seen["chunks"]}
    assert shown == {"pub.md": texts["pub.md"], "hidden": None}
    assert "hr.md" not in str(seen) and "secret" not in str(seen)
    assert next(s for s in seen["spans"] if s["name"].startswith("retrieval "))["content"] == "hidden"

    with traced.client(other) as c:
        assert c.get(f"/v1/traces/{TRACE}").status_code == 404
        assert TRACE not in str(c.get("/v1/traces").json())

    with traced.client(writer) as c:
        assert c.get(f"/v1/traces/{TRACE}").status_code == 403
        assert c.delete("/v1/documents/hr.md").status_code == 200
    with traced.client(admin) as c:
        after = c.get(f"/v1/traces/{TRACE}").json()
    assert {ch["doc_id"]: ch["text"] for ch in after["chunks"]}["hr.md"] is None  # its text is gone
    assert "content" not in next(s for s in after["spans"] if s["name"].startswith("retrieval "))
    assert "secret" not in str(after)


def test_no_span_starts_before_its_parent(traced: Server) -> None:
    """The request's stages are children of its server span and start inside it: on a loaded machine a stage timed
    from before the server span began made the root cover as little as 86 % of its trace (the web UI's waterfall)."""
    admin = traced.key(scopes=("admin", "read"))
    trace = "1e0c63257de34c92bf9efcd03927272f"
    with traced.client(admin) as c:
        headers = {"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
        assert c.post("/v1/search", json={"query": "lantern", "k": 5}, headers=headers).status_code == 200
    assert tracing.flush()
    with traced.client(admin) as c:
        spans = c.get(f"/v1/traces/{trace}").json()["spans"]
    by_id = {s["span_id"]: s for s in spans}
    assert "http.request" in {s["name"] for s in spans}
    early = [
        (s["name"], by_id[s["parent_id"]]["name"])
        for s in spans
        if s["parent_id"] in by_id and s["start_ms"] < by_id[s["parent_id"]]["start_ms"]
    ]
    assert early == []


def test_the_request_span_carries_the_request_id(traced: Server) -> None:
    """The HTTP request's span has ``ragwright.request_id`` (as an MCP tool call's span has): the client's
    ``X-Request-Id`` when it sent one, else the id the server made and returned in the header."""
    key = traced.key(scopes=("read",))
    given, made = "6e0c63257de34c92bf9efcd039272701", "6e0c63257de34c92bf9efcd039272702"
    with traced.client(key) as c:
        headers = {"traceparent": f"00-{given}-00f067aa0ba902b7-01", "X-Request-Id": "req-span-7"}
        assert c.post("/v1/search", json={"query": "kettle"}, headers=headers).status_code == 200
        r = c.get("/v1/documents", headers={"traceparent": f"00-{made}-00f067aa0ba902b7-01"})
        assert r.status_code == 200
    assert tracing.flush()
    store = open_trace_store(traced.settings)
    try:
        for trace_id, request_id in ((given, "req-span-7"), (made, r.headers["x-request-id"])):
            detail = store.get(trace_id, tenant="acme")
            assert detail is not None
            root = next(s for s in detail.spans if s.parent_id == "00f067aa0ba902b7")
            assert root.name.startswith(("POST /v1/search", "GET /v1/documents"))
            assert root.attributes[semconv.REQUEST_ID] == request_id
    finally:
        store.close()
