"""``POST /v1/extract`` on a real server: text or a stored document read as the key, examples, tenant context."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import httpx
import pytest

from ragwright.config import load_settings
from ragwright.gateway.types import ChatRequest
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.http.conftest import clean_env, run_server

SCHEMA = {
    "title": "Warranty",
    "type": "object",
    "properties": {"years": {"type": ["string", "null"]}, "product": {"type": ["string", "null"]}},
    "required": ["years", "product"],
}


def reply(request: ChatRequest) -> str:
    text = request.messages[-1].content or ""
    return json.dumps({"years": "3" if "3 years" in text else None, "product": "kettle" if "kettle" in text else None})


def test_extract_from_text_and_from_a_document_the_key_may_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = load_settings(
        data_dir=tmp_path / "data",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False, "chain": ["fake:x"]},
    )
    model = FakeChatModel(reply, name="fake:x")
    app = create_app(settings, gateway=ScriptedGateway({"fake:x": model}))
    with contextlib.contextmanager(run_server)(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        keys = app.state.service.keys
        writer, _ = keys.create("acme", scopes=("write",))
        reader, _ = keys.create("acme", scopes=("read",))
        public, _ = keys.create("acme", scopes=("read",), tags=("public",))
        h = {k: {"Authorization": f"Bearer {v}"} for k, v in [("w", writer), ("r", reader), ("p", public)]}
        r = c.post(
            "/v1/documents",
            headers=h["w"],
            files=[("files", ("memo.md", b"# Memo\n\nThe kettle warranty is 3 years."))],
            data={"tags": "internal"},
        )
        job = r.json()["id"]
        deadline = time.monotonic() + 120  # a bound, so a job that never ends fails instead of hanging
        while c.get(f"/v1/jobs/{job}", headers=h["w"]).json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"job {job} did not finish"
            time.sleep(0.05)

        examples = [{"text": "The toaster warranty is 2 years.", "output": {"years": "2", "product": "toaster"}}]
        text = "Our kettle: warranty 3 years."
        r = c.post("/v1/extract", headers=h["p"], json={"schema": SCHEMA, "text": text, "examples": examples})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["valid"] and body["data"] == {"years": "3", "product": "kettle"} and body["model"] == "fake:x"
        years = next(f for f in body["fields"] if f["path"] == "years")
        assert text[years["start"] : years["end"]] == "3"
        sent = model.requests[-1]
        assert sent.context.tenant == "acme" and sent.context.key_id is not None  # budgets and ledger per tenant
        assert "toaster" in (sent.messages[2].content or "")  # the example went along as an assistant turn

        # a stored document is read as the key: the tag-limited key gets the same 404 as for a missing one
        r = c.post("/v1/extract", headers=h["r"], json={"schema": SCHEMA, "doc_id": "memo.md"})
        assert r.status_code == 200 and r.json()["data"] == {"years": "3", "product": "kettle"}
        assert c.post("/v1/extract", headers=h["p"], json={"schema": SCHEMA, "doc_id": "memo.md"}).status_code == 404
        calls = model.calls
        # bad input is a 400 (or 422 for the body's shape) before any model call
        bad_schema = c.post("/v1/extract", headers=h["r"], json={"schema": {"type": "string"}, "text": "x"})
        assert bad_schema.status_code == 400 and "object with 'properties'" in bad_schema.text
        bad_example = {"text": "x", "output": {"years": 2}}
        r = c.post("/v1/extract", headers=h["r"], json={"schema": SCHEMA, "text": "x", "examples": [bad_example]})
        assert r.status_code == 400 and "examples[0]" in r.text
        assert c.post("/v1/extract", headers=h["r"], json={"schema": SCHEMA}).status_code == 422
        r = c.post("/v1/extract", headers=h["r"], json={"schema": SCHEMA, "text": "x", "model": "openai:gpt-4o"})
        assert r.status_code == 404
        assert model.calls == calls
