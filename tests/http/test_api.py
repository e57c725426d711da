"""The HTTP API end to end against a real uvicorn server: auth, search, answers, documents, jobs, errors, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragwright.app import Ragwright
from ragwright.interfaces.http.app import create_app
from ragwright.service.kbs import open_knowledge_bases, store_tenant
from ragwright.testing import FakeChatModel
from tests.http.conftest import Server, both_backends, clean_env, make_settings, run_server

ROTATION = b"# Key rotation\n\nRotate the API key every 90 days from the admin console.\n"
VACATION = b"# Vacation\n\nEmployees get 25 vacation days per year.\n"


@both_backends
def test_missing_bad_and_revoked_keys_get_401_json(server: Server) -> None:
    key = server.key()
    with server.client() as anon, server.client("rw_000000000000_" + "x" * 43) as bad:
        for c in (anon, bad):
            r = c.post("/v1/search", json={"query": "x"})
            assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    key_id = server.app.state.service.keys.verify(key).key_id
    with server.client(key) as c:
        assert c.post("/v1/search", json={"query": "x"}).status_code == 200
        server.app.state.service.keys.revoke(key_id)
        assert c.post("/v1/search", json={"query": "x"}).status_code == 401


@both_backends
def test_scopes_403(server: Server) -> None:
    reader = server.key(scopes=("read",))
    with server.client(reader) as c:
        r = c.post("/v1/documents", files=[("files", ("a.md", ROTATION))])
        assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
        assert c.delete("/v1/documents/a.md").status_code == 403


@both_backends
def test_upload_job_search_answer_list_delete(server: Server) -> None:
    key = server.key()
    job = server.upload(
        key,
        {
            "rotation.md": ROTATION,
            "vacation.md": VACATION,
            "tool.exe": b"MZ\x00\x01",
            "empty.txt": b"   \n",
            "broken.pdf": b"%PDF-1.7 this is not really a PDF",
        },
    )
    assert job["status"] == "succeeded"
    assert job["result"]["added"] == 2 and job["result"]["failed"] == 3
    reasons = {f["path"]: f["reason"] for f in job["result"]["failures"]}
    assert set(reasons) == {"tool.exe", "empty.txt", "broken.pdf"} and "unsupported" in reasons["tool.exe"]
    assert all(reasons.values())
    assert job["progress"]["files_done"] == 5
    with server.client(key) as c:
        hits = c.post("/v1/search", json={"query": "rotate the API key", "k": 3}).json()["hits"]
        assert hits[0]["doc_id"] == "rotation.md" and "90 days" in hits[0]["text"]
        ans = c.post("/v1/answer", json={"question": "How often should the API key be rotated?"}).json()
        assert not ans["abstained"] and "90 days" in ans["text"]
        assert ans["answered_by"] == "extractive" and ans["fallback"] is None and ans["abstention"] is None
        assert ans["citations"][0]["doc_id"] == "rotation.md"
        docs = c.get("/v1/documents").json()["data"]
        assert sorted(d["id"] for d in docs) == ["rotation.md", "vacation.md"]
        assert c.delete("/v1/documents/rotation.md").json() == {
            "id": "rotation.md",
            "object": "document",
            "deleted": True,
        }
        r = c.delete("/v1/documents/rotation.md")
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        hits = c.post("/v1/search", json={"query": "rotate the API key"}).json()["hits"]
        assert all(h["doc_id"] != "rotation.md" for h in hits)


@both_backends
def test_knowledge_bases_are_separate_and_listed_as_models(server: Server) -> None:
    key = server.key()
    server.upload(key, {"rotation.md": ROTATION}, kb="security")
    with server.client(key) as c:
        assert c.post("/v1/search", json={"query": "rotate API key"}).json()["hits"] == []
        hits = c.post("/v1/search", json={"query": "rotate API key", "knowledge_base": "security"}).json()["hits"]
        assert [h["doc_id"] for h in hits] == ["rotation.md"]
        ids = [m["id"] for m in c.get("/v1/models").json()["data"]]
        assert ids[:2] == ["rag:default", "rag:security"]
        r = c.post("/v1/search", json={"query": "x", "knowledge_base": "a.b"})
        assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_request"


@both_backends
def test_answer_stream_sends_verified_sentences_then_done(server: Server) -> None:
    key = server.key()
    server.upload(key, {"rotation.md": ROTATION})
    with (
        server.client(key) as c,
        c.stream(
            "POST", "/v1/answer", json={"question": "How often should the API key be rotated?", "stream": True}
        ) as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [
            (e.split("\n")[0].removeprefix("event: "), json.loads(e.split("\n")[1].removeprefix("data: ")))
            for e in r.read().decode().strip().split("\n\n")
        ]
    names = [n for n, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"delta"}  # one verified sentence per delta, then the answer
    text = " ".join(d["text"] for n, d in events if n == "delta")
    assert text == events[-1][1]["text"] and "90 days" in text
    assert events[0][1]["citations"][0]["doc_id"] == "rotation.md"


def test_errors_are_json_with_the_right_status(server: Server) -> None:
    key = server.key()
    with server.client(key) as c:
        cases = [
            (c.get("/nope"), 404, "not_found"),
            (c.put("/v1/search"), 405, "method_not_allowed"),
            (
                c.post("/v1/search", content=b"{not json", headers={"content-type": "application/json"}),
                422,
                "invalid_request",
            ),
            (c.post("/v1/search", json={"query": ""}), 422, "invalid_request"),
            (c.post("/v1/search", json={"query": "x", "k": 0}), 422, "invalid_request"),
            (c.get("/v1/jobs/job_unknown"), 404, "not_found"),
            (c.post("/v1/documents", files=[("files", (".htaccess", b"x"))]), 400, "bad_request"),
            (
                c.post(
                    "/v1/chat/completions", json={"model": "nope:x", "messages": [{"role": "user", "content": "h"}]}
                ),
                404,
                "model_not_found",
            ),
        ]
        for r, status, type_ in cases:
            assert r.status_code == status, (r.request.url, r.text)
            body = r.json()
            assert set(body) == {"error"} and body["error"]["type"] == type_ and body["error"]["message"]
            assert "Traceback" not in r.text


def test_body_limit_413(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    app = create_app(make_settings(tmp_path / "idx", max_body_mb=0.01, max_upload_mb=0.02))
    raw, _ = app.state.service.keys.create("acme", scopes=("write",))
    for url in run_server(app):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {raw}"}) as c:
            r = c.post("/v1/search", json={"query": "x" * 20_000})
            assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"

            def chunked() -> Iterator[bytes]:  # no Content-Length: the limit counts received bytes
                for _ in range(10):
                    yield b" " * 4096

            r = c.post("/v1/search", content=chunked(), headers={"content-type": "application/json"})
            assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
            r = c.post("/v1/documents", files=[("files", ("big.md", b"a " * 20_000))])
            assert r.status_code == 413
            assert c.post("/v1/search", json={"query": "fine"}).status_code == 200


def test_rate_limit_429_per_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    app = create_app(make_settings(tmp_path / "idx", rate_limit_rpm=3))
    a, _ = app.state.service.keys.create("acme")
    b, _ = app.state.service.keys.create("acme")
    for url in run_server(app):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {a}"}) as c:
            codes = [c.post("/v1/search", json={"query": "x"}).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = c.post("/v1/search", json={"query": "x"})
            assert r.json()["error"]["type"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {b}"}) as c:
            assert c.post("/v1/search", json={"query": "x"}).status_code == 200
            metrics = c.get("/metrics").text
            assert "ragwright_http_rate_limited_total 2.0" in metrics


@both_backends
def test_health_ready_metrics_openapi(server: Server) -> None:
    key = server.key()
    with server.client(key) as c:
        c.post("/v1/search", json={"query": "x"})
        c.get("/v1/jobs/job_abc")
        c.get("/no/such/path/123")
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        metrics = c.get("/metrics").text
        assert 'route="/v1/search",status="2xx"' in metrics
        assert 'route="/v1/jobs/{job_id}",status="4xx"' in metrics and "job_abc" not in metrics
        assert "/no/such/path" not in metrics and 'route="other"' in metrics
        spec = c.get("/openapi.json").json()
        assert {
            "/v1/search",
            "/v1/answer",
            "/v1/chat/completions",
            "/v1/models",
            "/v1/documents",
            "/v1/jobs/{job_id}",
            "/healthz",
            "/readyz",
            "/metrics",
        } <= set(spec["paths"])


def test_unexpected_exception_is_a_json_500_without_details(server: Server) -> None:
    def boom(request: object) -> str:
        raise RuntimeError("boom in /srv/private/module.py")

    server.models["fake:boom"] = FakeChatModel(boom, name="fake:boom")
    with server.client(server.key()) as c:
        r = c.post("/v1/chat/completions", json={"model": "fake:boom", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 500 and r.json()["error"]["type"] == "internal_error"
    assert "private" not in r.text and "Traceback" not in r.text and "incident" in r.json()["error"]["message"]


@both_backends
def test_tag_limited_key_uploads_with_its_own_tags_only(server: Server) -> None:
    key = server.key(tags=("public",))
    job = server.upload(key, {"rotation.md": ROTATION})
    assert job["tags"] == ["public"] and job["result"]["added"] == 1
    with server.client(key) as c:
        assert [d["tags"] for d in c.get("/v1/documents").json()["data"]] == [["public"]]
        r = c.post("/v1/documents", files=[("files", ("v.md", VACATION))], data={"tags": "public,hr"})
        assert r.status_code == 403 and "hr" in r.json()["error"]["message"]
    hr_reader = server.key(tags=("hr",), scopes=("read",))
    with server.client(hr_reader) as c:
        assert c.get("/v1/documents").json()["data"] == []
        assert c.post("/v1/search", json={"query": "rotate API key"}).json()["hits"] == []


@both_backends
def test_another_tenant_cannot_read_delete_or_poll(server: Server) -> None:
    mine, theirs = server.key("acme"), server.key("globex")
    job = server.upload(mine, {"rotation.md": ROTATION})
    with server.client(theirs) as c:
        assert c.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert c.delete("/v1/documents/rotation.md").status_code == 404
        assert c.get("/v1/documents").json()["data"] == []
        assert c.post("/v1/search", json={"query": "rotate API key"}).json()["hits"] == []
        assert [m["id"] for m in c.get("/v1/models").json()["data"] if m["id"].startswith("rag:")] == ["rag:default"]
    with server.client(mine) as c:
        assert [d["id"] for d in c.get("/v1/documents").json()["data"]] == ["rotation.md"]


@both_backends
def test_knowledge_base_created_by_another_process_becomes_keyword_searchable(server: Server, tmp_path: Path) -> None:
    key = server.key()
    with server.client(key) as c:  # the server has its index open before the new knowledge base exists
        server.upload(key, {"vacation.md": VACATION})
        assert c.post("/v1/search", json={"query": "vacation days"}).json()["hits"]
        doc = tmp_path / "elsewhere" / "rotation.md"
        doc.parent.mkdir()
        doc.write_bytes(ROTATION)
        other = Ragwright(server.settings)  # what the MCP server or `ragwright ingest` does in its own process
        other.ingest([doc], tenant=store_tenant("acme", "ops"))
        other.close()
        kbs = open_knowledge_bases(server.settings)
        kbs.add("acme", "ops")
        kbs.close()
        # no wait: the server's open store looks up a tenant it does not know yet on first use
        hits = c.post("/v1/search", json={"query": "rotate API key", "knowledge_base": "ops", "mode": "bm25"}).json()
        assert [h["doc_id"] for h in hits["hits"]] == ["elsewhere/rotation.md"]
