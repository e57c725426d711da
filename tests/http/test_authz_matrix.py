"""The authorisation matrix: every HTTP route and MCP tool × key (scope, tag limit, tenant), generated from one table.

``ROWS`` lists every way in: each HTTP route of the real ``serve`` app (``app.routes``) and each MCP tool (the
official ``mcp`` client over streamable HTTP, ``tools/list``), with the scope it needs, how to call it, and what each
key must get. ``PRINCIPALS`` are the keys: none, revoked, read, write and admin, tag-limited or not, and another
tenant's. Each (row, principal) pair is one test; :func:`test_every_route_and_tool_has_a_row` fails when a route or
tool exists without a row (or a row names one that is gone), so a new path cannot ship without saying who may use it.

The corpus: tenant ``acme`` has ``pubmark.md`` (tag ``public``) and ``intmark.md`` (tag ``internal``), tenant ``other``
has ``othmark.md``; a response may show a marker only to a key that may read that document, and the rows that list or
search must show all of them. Writes go to knowledge base ``scratch`` so they never change what the reads see.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from ragwright.app import Ragwright
from ragwright.config import Settings, load_settings
from ragwright.documents.loaders import load_file
from ragwright.evals.records import CaseRecord, EvalRun
from ragwright.evals.summary import summarize
from ragwright.gateway.ledger import UsageLedger, UsageRecord
from ragwright.ingest.pipeline import Ingestor
from ragwright.interfaces.http.app import create_app
from ragwright.interfaces.mcp.http import build_http_app
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.server import build_server, key_from_http
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.observability import tracing
from ragwright.service.kbs import KnowledgeBases
from ragwright.service.keys import SCOPES, KeyStore
from ragwright.ui import UI_TAG
from tests.http.conftest import run_server

PUB, INT, OTH, ACME_KB = "pubmark", "intmark", "othmark", "acme-private"
MARKERS = (PUB, INT, OTH, ACME_KB)
SCRATCH_INT = "---\ntags: [internal]\n---\n# Scratch\n\nThe scratch ledger lists the heron count."  # MCP strips text
FRONT_MATTER = "---\ntags: [internal]\n---\n# Budget\n\nThe zeppelin budget is secret.\n"


@dataclass(frozen=True)
class Principal:
    """One caller: a key of ``tenant`` with ``scopes`` and ``tags`` (no tenant: no key at all)."""

    name: str
    tenant: str | None
    scopes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        if scope == "approve":  # a grant outside the ladder, held by admin keys (service.keys.GRANTS)
            return "approve" in self.scopes or "admin" in self.scopes
        have = [SCOPES.index(s) for s in self.scopes]
        return bool(have) and max(have) >= SCOPES.index(scope)

    def sees(self, *tags: str) -> bool:
        """The documented rule, written out here (not taken from the code under test): one tag in common."""
        return not self.tags or bool(set(self.tags) & set(tags))

    def covers(self, key_tags: tuple[str, ...]) -> bool:
        """A job uploaded by a key limited to ``key_tags`` is readable: unrestricted, or all of them are ours."""
        return not self.tags or (bool(key_tags) and set(key_tags) <= set(self.tags))

    def markers(self) -> frozenset[str]:
        """The documents (by marker) this key may read in the default knowledge base."""
        if self.tenant == "other":
            return frozenset({OTH})
        return frozenset(m for m, tag in ((PUB, "public"), (INT, "internal")) if self.sees(tag))


PRINCIPALS = (
    Principal("anonymous", None),
    Principal("revoked", "acme", ("admin",), revoked=True),
    Principal("read", "acme", ("read",)),
    Principal("read_public", "acme", ("read",), ("public",)),
    Principal("write", "acme", ("write",)),
    Principal("write_public", "acme", ("write",), ("public",)),
    Principal("admin", "acme", ("admin",)),
    Principal("other_admin", "other", ("admin",)),
)


@dataclass(frozen=True)
class Seen:
    """What a call returned: a status ("200", "401", "403", "404", ...), an outcome for writes, the markers shown."""

    status: str
    outcome: str = ""
    markers: frozenset[str] = frozenset()


@dataclass
class World:
    settings: Settings
    app: Any
    http: str
    mcp: str
    keys: dict[str, str]
    jobs: dict[str, str] = field(default_factory=dict)
    """job id by the principal that uploaded it (write: unrestricted, write_public: tag public), and agent run ids
    (run_read: started by the unrestricted reader, run_read_public: by the reader limited to tag public)"""


Run = Callable[[World, Principal], Awaitable[Seen]]
Expect = Callable[[Principal], Seen]


@dataclass(frozen=True)
class Row:
    """One way in (``surface``: ``METHOD /path`` or ``mcp:<tool>``) with one kind of call (``case``)."""

    surface: str
    case: str
    scope: str | None
    run: Run
    expect: Expect
    subset: bool = False
    """True: the markers shown must be among the expected ones (answers quote some passages, not all)."""

    @property
    def id(self) -> str:
        return f"{self.surface} [{self.case}]"


def _markers(text: str) -> frozenset[str]:
    low = text.lower()
    return frozenset(m for m in MARKERS if m in low)


def _gate(scope: str | None, ok: Expect) -> Expect:
    """No key or a revoked one: 401; a key without the scope: 403; else what ``ok`` says."""

    def expect(p: Principal) -> Seen:
        if scope is None:
            return ok(p)
        if p.tenant is None or p.revoked:
            return Seen("401")
        if not p.allows(scope):
            return Seen("403")
        return ok(p)

    return expect


# -- HTTP ------------------------------------------------------------------------------------------------------------


def _headers(world: World, p: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.keys[p.name]}"} if p.name in world.keys else {}


def _http(method: str, path: str, **kw: Any) -> Callable[[World, Principal], Awaitable[httpx.Response]]:
    async def call(world: World, p: Principal) -> httpx.Response:
        async with httpx.AsyncClient(base_url=world.http, headers=_headers(world, p), timeout=30) as c:
            return await c.request(method, path.format(p=p.name, **world.jobs), **kw)

    return call


def http_read(method: str, path: str, **kw: Any) -> Run:
    call = _http(method, path, **kw)

    async def run(world: World, p: Principal) -> Seen:
        r = await call(world, p)
        return Seen(str(r.status_code), markers=_markers(r.text) if r.status_code == 200 else frozenset())

    return run


def http_start_eval(dataset: str, kb: str) -> Run:
    """``POST /v1/evals/runs`` of ``dataset`` as run ``run-<principal>`` (each principal its own name)."""

    async def run(world: World, p: Principal) -> Seen:
        body = {"dataset": dataset, "name": f"run-{p.name}", "knowledge_base": kb}
        return await http_read("POST", "/v1/evals/runs", json=body)(world, p)

    return run


def http_upload(name: str, text: str) -> Run:
    async def run(world: World, p: Principal) -> Seen:
        async with httpx.AsyncClient(base_url=world.http, headers=_headers(world, p), timeout=30) as c:
            r = await c.post(
                "/v1/documents",
                files=[("files", (name.format(p=p.name), text.encode()))],
                data={"knowledge_base": "scratch"},
            )
            if r.status_code != 202:
                return Seen(str(r.status_code))
            deadline = time.monotonic() + 60
            while (job := (await c.get(f"/v1/jobs/{r.json()['id']}")).json())["status"] not in ("succeeded", "failed"):
                assert time.monotonic() < deadline, job
                await _pause()
        return Seen("202", _outcome(job["result"]))

    return run


def _outcome(result: dict[str, Any]) -> str:
    for status in ("added", "updated", "unchanged"):
        if result[status]:
            return status
    reason = result["failures"][0]["reason"]
    return "refused" if "this key may" in reason else f"failed: {reason}"


async def _pause() -> None:
    import anyio

    await anyio.sleep(0.05)


# -- MCP -------------------------------------------------------------------------------------------------------------


def mcp_tool(tool: str, args: dict[str, Any]) -> Run:
    async def run(world: World, p: Principal) -> Seen:
        if p.name not in world.keys or p.revoked:
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
            r = httpx.post(
                world.mcp,
                json=init,
                headers={**_headers(world, p), "Accept": "application/json, text/event-stream"},
                timeout=30,
            )
            return Seen(str(r.status_code))
        http = _mcp_http(_headers(world, p))
        async with http, Client(streamable_http_client(world.mcp, http_client=http), read_timeout_seconds=30) as c:
            listed = {t.name for t in (await c.list_tools()).tools}
            raw = json.dumps(args).replace("{p}", p.name)
            for name, value in world.jobs.items():  # agent run ids, as the HTTP rows' paths get them
                raw = raw.replace("{" + name + "}", value)
            result = await c.call_tool(tool, json.loads(raw))
        text = "\n".join(getattr(x, "text", "") for x in result.content)
        if result.is_error:
            assert tool not in listed or "needs a key" not in text, "a tool the key may not call was listed"
            if "needs a key with the" in text:
                return Seen("403")
            if text.startswith(("no document", "no agent run")):
                return Seen("404")
            if "not awaiting approval" in text:  # the HTTP routes' 409
                return Seen("409")
            return Seen("200", "refused" if "this key may" in text else f"error: {text}")
        assert tool in listed, "a tool the key may call was not listed"
        content = result.structured_content or {}
        return Seen("200", str(content.get("status", "")), _markers(text))

    return run


MCP_UNGATED = frozenset({"ping", "server/discover", "tools/list", "tools/call"})
"""Request methods of the MCP server that are not a way to data of their own (tools have rows of their own)."""


def mcp_method(method: str, **params: Any) -> Run:
    """An MCP request method other than a tool (prompts, resources) through the official client; an error reply
    that says the thing is missing counts as 404."""

    async def call(c: Client) -> str:
        if method == "prompts/list":
            return json.dumps([p.model_dump() for p in (await c.list_prompts()).prompts])
        if method == "prompts/get":
            return (await c.get_prompt(params["name"], params["arguments"])).model_dump_json()
        if method == "resources/list":
            return (await c.list_resources()).model_dump_json()
        if method == "resources/templates/list":
            return (await c.list_resource_templates()).model_dump_json()
        return (await c.read_resource(params["uri"])).model_dump_json()

    async def run(world: World, p: Principal) -> Seen:
        if p.name not in world.keys or p.revoked:
            return await mcp_tool("search", {})(world, p)  # the 401 of the HTTP layer, before any method
        http = _mcp_http(_headers(world, p))
        async with http, Client(streamable_http_client(world.mcp, http_client=http), read_timeout_seconds=30) as c:
            try:
                text = await call(c)
            except MCPError as err:
                return Seen("404" if "no document" in err.message or "no prompt" in err.message else f"error: {err}")
        return Seen("200", markers=_markers(unquote(text)))

    return run


# -- expectations ----------------------------------------------------------------------------------------------------


def sees_documents(p: Principal) -> Seen:
    return Seen("200", markers=p.markers())


def _mcp_http(headers: dict[str, str]) -> httpx2.AsyncClient:
    """The client streamable_http_client documents for custom headers (not the SDK's private factory)."""
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))


def public_route(p: Principal) -> Seen:
    return Seen("200")


def replace_internal(status: str) -> Expect:
    """Re-uploading ``int.md`` of the scratch knowledge base (same bytes, tagged internal) in the key's own tenant."""
    return lambda p: Seen(status, "unchanged" if p.sees("internal") else "refused")


def new_front_matter(status: str) -> Expect:
    """A new document whose front matter says ``tags: [internal]``."""
    return lambda p: Seen(status, "added" if not p.tags or "internal" in p.tags else "refused")


def delete_internal(p: Principal) -> Seen:
    """``DELETE del-<principal>.md`` (or ``PATCH tag-<principal>.md``): acme's, tagged internal."""
    return Seen("200" if p.tenant == "acme" and p.sees("internal") else "404", markers=frozenset())


def job_of(key_tags: tuple[str, ...]) -> Expect:
    """A job uploaded by a key limited to ``key_tags``."""

    def expect(p: Principal) -> Seen:
        ok = p.tenant == "acme" and p.covers(key_tags)
        return Seen("200" if ok else "404")

    return expect


def models(p: Principal) -> Seen:
    return Seen("200", markers=frozenset({ACME_KB}) if p.tenant == "acme" else frozenset())


def acme_prompt(status: str) -> Expect:
    """acme's own prompt ``greeting`` (its text and note name ``acme-private``): another tenant's admin gets 404."""
    return lambda p: Seen(status, markers=frozenset({ACME_KB})) if p.tenant == "acme" else Seen("404")


def usage_by_kb(p: Principal) -> Seen:
    """``GET /v1/usage?by=kb``: the ledger has a row of acme's kb ``acme-private`` and one of other's ``othmark``."""
    return Seen("200", markers=frozenset({ACME_KB}) if p.tenant == "acme" else frozenset({OTH}))


def http_citation(path: str, doc_id: str, marker: str) -> Run:
    """``GET <path>`` for the passage of ``doc_id`` (acme's) that holds ``marker``: the chunk id and span are looked
    up in the store first, as an answer's citation would carry them."""

    async def run(world: World, p: Principal) -> Seen:
        from ragwright.store.sqlite import SQLiteStore

        store = SQLiteStore(world.settings.index_path)
        try:
            hit = next(
                c
                for c in store.get("acme", [h.chunk_id for h in store.keyword_search("acme", marker, 5)])
                if c.doc_path == doc_id
            )
        finally:
            store.close()
        chunk = hit.chunk
        params = {"doc_id": doc_id, "chunk_id": chunk.id, "start": chunk.char_start, "end": chunk.char_end}
        return await http_read("GET", path, params=params)(world, p)

    return run


def get_internal(p: Principal) -> Seen:
    return Seen("200", markers=frozenset({INT})) if p.tenant == "acme" and p.sees("internal") else Seen("404")


def eval_run(p: Principal) -> Seen:
    """acme's eval run ``intmark-run`` (written by the CLI, so limited by no key's tags) and dataset ``intmark-set``:
    readable by acme's keys without tag limits; a tag-limited key or another tenant's gets 404 (lists: nothing)."""
    return Seen("200", markers=frozenset({INT})) if p.tenant == "acme" and not p.tags else Seen("404")


def eval_list(p: Principal) -> Seen:
    return Seen("200", markers=frozenset({INT}) if p.tenant == "acme" and not p.tags else frozenset())


def eval_start(p: Principal) -> Seen:
    """Start a run of acme's scratch dataset: only a key without tag limits (403), of acme (404: no such dataset)."""
    return Seen("403") if p.tags else Seen("202" if p.tenant == "acme" else "404")


SCHEMA = {"type": "object", "properties": {"company": {"type": ["string", "null"]}}}
QUERY = "kettle warranty note memo"  # no marker: responses echo the query
TRACE = "5ce0e9a56015fec5aadfa328ae398115"
"""The trace of a search acme's admin made while the world was built (sent as its traceparent)."""
ROWS: tuple[Row, ...] = (
    Row("POST /v1/search", "all visible", "read", http_read("POST", "/v1/search", json={"query": QUERY, "k": 20}),
        _gate("read", sees_documents)),
    Row("POST /v1/search", "ask for internal", "read",
        http_read("POST", "/v1/search", json={"query": QUERY, "k": 20, "filters": {"tags": ["internal"]}}),
        _gate("read", lambda p: Seen("200", markers=frozenset({INT}) & p.markers()))),
    Row("POST /v1/answer", "json", "read", http_read("POST", "/v1/answer", json={"question": "What is the warranty?"}),
        _gate("read", sees_documents), subset=True),
    Row("POST /v1/answer", "stream", "read",
        http_read("POST", "/v1/answer", json={"question": "What is the warranty?", "stream": True}),
        _gate("read", sees_documents), subset=True),
    Row("POST /v1/chat/completions", "rag:default", "read",
        http_read("POST", "/v1/chat/completions",
                  json={"model": "rag:default", "messages": [{"role": "user", "content": "What is the warranty?"}]}),
        _gate("read", sees_documents), subset=True),
    Row("POST /v1/chat/completions", "gateway model", "read",
        http_read("POST", "/v1/chat/completions",
                  json={"model": "default", "messages": [{"role": "user", "content": "ping"}]}),
        _gate("read", public_route)),
    Row("GET /v1/models", "knowledge bases", "read", http_read("GET", "/v1/models"), _gate("read", models)),
    Row("GET /v1/documents", "list", "read", http_read("GET", "/v1/documents"), _gate("read", sees_documents)),
    Row("GET /v1/jobs/{job_id}", "unrestricted writer's job", "read", http_read("GET", "/v1/jobs/{write}"),
        _gate("read", job_of(()))),
    Row("GET /v1/jobs/{job_id}", "public writer's job", "read", http_read("GET", "/v1/jobs/{write_public}"),
        _gate("read", job_of(("public",)))),
    Row("GET /v1/jobs", "list", "read", http_read("GET", "/v1/jobs"), _gate("read", public_route)),
    Row("POST /v1/jobs/{job_id}/cancel", "finished job", "write", http_read("POST", "/v1/jobs/{write}/cancel"),
        _gate("write", lambda p: Seen("409") if job_of(())(p).status == "200" else Seen("404"))),
    Row("POST /v1/agent/runs", "task", "read",
        http_read("POST", "/v1/agent/runs", json={"task": "What is the kettle warranty?", "stream": False}),
        _gate("read", sees_documents), subset=True),
    Row("POST /v1/research", "question", "read",
        http_read("POST", "/v1/research", json={"question": "What is the kettle warranty?", "stream": False}),
        _gate("read", sees_documents), subset=True),
    Row("GET /v1/agent/runs", "list", "read", http_read("GET", "/v1/agent/runs"), _gate("read", public_route)),
    Row("GET /v1/agent/runs/{run_id}", "unrestricted reader's run", "read",
        http_read("GET", "/v1/agent/runs/{run_read}"), _gate("read", job_of(()))),
    Row("GET /v1/agent/runs/{run_id}", "public reader's run", "read",
        http_read("GET", "/v1/agent/runs/{run_read_public}"), _gate("read", job_of(("public",)))),
    Row("POST /v1/agent/runs/{run_id}/approvals", "finished run", "approve",
        http_read("POST", "/v1/agent/runs/{run_read}/approvals",
                  json={"decisions": [{"call_id": "x", "approve": True}]}),
        _gate("approve", lambda p: Seen("409" if p.tenant == "acme" else "404"))),
    Row("GET /v1/citations/source", "internal passage", "read",
        http_citation("/v1/citations/source", "intmark.md", "intmark"), _gate("read", get_internal)),
    Row("GET /v1/citations/original", "internal document", "read",
        http_read("GET", "/v1/citations/original?doc_id=intmark.md"), _gate("read", get_internal)),
    Row("POST /v1/feedback", "thumbs down", "read",
        http_read("POST", "/v1/feedback", json={"rating": "down", "question": "q?", "answer": "a", "comment": "{p}"}),
        _gate("read", lambda p: Seen("201"))),
    Row("GET /v1/documents/{doc_id:path}/chunks", "internal document", "read",
        http_read("GET", "/v1/documents/intmark.md/chunks"), _gate("read", get_internal)),
    Row("PATCH /v1/documents/{doc_id:path}", "internal document keeps its tag", "write",
        http_read("PATCH", "/v1/documents/tag-{p}.md?knowledge_base=scratch", json={"tags": ["internal"]}),
        _gate("write", delete_internal)),
    Row("POST /v1/extract", "text", "read", http_read("POST", "/v1/extract", json={"schema": SCHEMA, "text": "Kopi"}),
        _gate("read", public_route)),
    Row("POST /v1/extract", "internal document", "read",
        http_read("POST", "/v1/extract", json={"schema": SCHEMA, "doc_id": "intmark.md", "max_reasks": 0}),
        _gate("read", get_internal)),
    Row("DELETE /v1/documents/{doc_id:path}", "internal document", "write",
        http_read("DELETE", "/v1/documents/del-{p}.md?knowledge_base=scratch"), _gate("write", delete_internal)),
    Row("POST /v1/documents", "replace internal", "write", http_upload("int.md", SCRATCH_INT),
        _gate("write", replace_internal("202"))),
    Row("POST /v1/documents", "front matter internal", "write", http_upload("fm-{p}.md", FRONT_MATTER),
        _gate("write", new_front_matter("202"))),
    Row("GET /v1/evals/runs", "list", "read", http_read("GET", "/v1/evals/runs"), _gate("read", eval_list)),
    Row("GET /v1/evals/datasets", "list", "read", http_read("GET", "/v1/evals/datasets"), _gate("read", eval_list)),
    *(
        Row(f"GET /v1/evals/runs/{{name}}{tail}", "CLI run", "read",
            http_read("GET", f"/v1/evals/runs/intmark-run{tail}"), _gate("read", eval_run))
        for tail in ("", "/status", "/report", "/gate")
    ),
    Row("GET /v1/evals/compare", "CLI run with itself", "read",
        http_read("GET", "/v1/evals/compare?base=intmark-run&new=intmark-run"), _gate("read", eval_run)),
    Row("POST /v1/evals/runs", "scratch dataset", "write",
        http_start_eval("scratch-set", "scratch"), _gate("write", eval_start)),
    Row("GET /v1/traces", "list", "admin", http_read("GET", "/v1/traces"),
        _gate("admin", lambda p: Seen("200"))),  # roots and timings of the key's tenant: no document text
    Row("GET /v1/traces", "filtered", "admin",
        http_read("GET", "/v1/traces?root=POST%20/v1/search&min_ms=0&errors=false&key_id=x"),
        _gate("admin", lambda p: Seen("200"))),
    Row("GET /v1/traces/{trace_id}", "acme search", "admin", http_read("GET", f"/v1/traces/{TRACE}"),
        _gate("admin", lambda p: Seen("200", markers=p.markers()) if p.tenant == "acme" else Seen("404"))),
    Row("GET /v1/usage", "by knowledge base", "admin", http_read("GET", "/v1/usage?by=kb"),
        _gate("admin", usage_by_kb)),
    *(
        Row(f"GET {path}", "public", None, http_read("GET", path), _gate(None, public_route))
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
    ),
    Row("GET /v1/prompts", "list", "admin", http_read("GET", "/v1/prompts"), _gate("admin", public_route)),
    Row("GET /v1/prompts/{name}", "acme's own", "admin", http_read("GET", "/v1/prompts/greeting"),
        _gate("admin", acme_prompt("200"))),
    Row("GET /v1/prompts/{name}/versions/{ref}", "acme's own", "admin",
        http_read("GET", "/v1/prompts/greeting/versions/latest"), _gate("admin", acme_prompt("200"))),
    Row("GET /v1/prompts/{name}/diff", "acme's own", "admin", http_read("GET", "/v1/prompts/greeting/diff?a=1&b=2"),
        _gate("admin", acme_prompt("200"))),
    Row("POST /v1/prompts/{name}/versions", "new answer version", "admin",
        http_read("POST", "/v1/prompts/answer/versions", json={"template": "Short. $boundary",
                                                               "variables": ["boundary"]}),
        _gate("admin", lambda p: Seen("201"))),
    Row("PUT /v1/prompts/{name}/labels/{label}", "stage v1", "admin",
        http_read("PUT", "/v1/prompts/answer/labels/staging", json={"version": 1}), _gate("admin", public_route)),
    Row("PUT /v1/prompts/{name}/splits/{label}", "10 % to v1", "admin",
        http_read("PUT", "/v1/prompts/condense/splits/production", json={"version": 1, "percent": 10}),
        _gate("admin", public_route)),
    Row("DELETE /v1/prompts/{name}/splits/{label}", "end", "admin",
        http_read("DELETE", "/v1/prompts/condense/splits/production"), _gate("admin", lambda p: Seen("204"))),
    Row("MOUNT /docs/assets", "public", None, http_read("GET", "/docs/assets/swagger-ui.css"),
        _gate(None, public_route)),
    Row("MOUNT /static", "the web UI's CSS", None, http_read("GET", "/static/css/app.css"), _gate(None, public_route)),
    Row("mcp:search", "all visible", "read", mcp_tool("search", {"query": QUERY, "k": 20}),
        _gate("read", sees_documents)),
    Row("mcp:answer", "question", "read", mcp_tool("answer", {"question": "What is the warranty?"}),
        _gate("read", sees_documents), subset=True),
    Row("mcp:list_documents", "list", "read", mcp_tool("list_documents", {}), _gate("read", sees_documents)),
    Row("mcp:get_document", "internal document", "read", mcp_tool("get_document", {"doc_id": "intmark.md"}),
        _gate("read", get_internal)),
    Row("mcp:prompts/list", "list", "read", mcp_method("prompts/list"), _gate("read", public_route)),
    Row("mcp:prompts/get", "acme's own", "read", mcp_method("prompts/get", name="greeting", arguments={"who": "x"}),
        _gate("read", lambda p: Seen("200") if p.tenant == "acme" else Seen("404"))),
    Row("mcp:resources/list", "default knowledge base", "read", mcp_method("resources/list"),
        _gate("read", sees_documents)),
    Row("mcp:resources/templates/list", "list", "read", mcp_method("resources/templates/list"),
        _gate("read", public_route)),
    Row("mcp:resources/read", "internal document", "read",
        mcp_method("resources/read", uri="ragwright://kb/default/doc/intmark.md"), _gate("read", get_internal)),
    Row("mcp:agent_pending_approvals", "list", "approve", mcp_tool("agent_pending_approvals", {}),
        _gate("approve", public_route)),
    Row("mcp:agent_decide", "finished run", "approve",
        mcp_tool("agent_decide", {"run_id": "{run_read}", "decisions": [{"call_id": "x", "approve": True}]}),
        _gate("approve", lambda p: Seen("409" if p.tenant == "acme" else "404"))),
    Row("mcp:ingest", "replace internal", "write",
        mcp_tool("ingest", {"filename": "int.md", "text": SCRATCH_INT, "knowledge_base": "scratch"}),
        _gate("write", replace_internal("200"))),
    Row("mcp:ingest", "front matter internal", "write",
        mcp_tool("ingest", {"filename": "mcp-fm-{p}.md", "text": FRONT_MATTER, "knowledge_base": "scratch"}),
        _gate("write", new_front_matter("200"))),
)  # fmt: skip


# -- the world -------------------------------------------------------------------------------------------------------


def _put(rw: Ragwright, tmp: Path, tenant: str, doc_id: str, text: str, tags: tuple[str, ...] = ()) -> None:
    path = tmp / "src" / tenant / doc_id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    doc = load_file(path, doc_id, max_bytes=1 << 20, tags=tags)
    report = Ingestor(rw.store, rw.embedder, rw.settings).ingest_documents([doc], tenant=tenant)
    assert report.count("added") == 1, report.summary()


def _eval_files(root: Path) -> None:
    """acme's CLI-written run ``intmark-run`` and dataset ``intmark-set`` (default kb); a dataset in acme's scratch."""
    case = CaseRecord(id="c1", question="What does intmark say about the kettle warranty?", answer="42 percent")
    run = EvalRun(name="intmark-run", cases=[case], summary=summarize([case]), dataset="intmark-set")
    (root / "acme" / "runs").mkdir(parents=True)
    (root / "acme" / "runs" / "intmark-run.json").write_text(json.dumps(run.to_json()), encoding="utf-8")
    line = json.dumps({"id": "c1", "question": "What is the heron count?"}) + "\n"
    for folder, name in (("acme", "intmark-set"), ("acme.scratch", "scratch-set")):
        (root / folder / "datasets").mkdir(parents=True)
        (root / folder / "datasets" / f"{name}.jsonl").write_text(line, encoding="utf-8")


def _build(tmp: Path) -> tuple[Settings, dict[str, str]]:
    settings = load_settings(
        data_dir=tmp / "data",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False, "chain": ["fake:echo"]},
        observability={"tracing": "local"},
    )
    rw = Ragwright(settings)
    try:
        _put(
            rw,
            tmp,
            "acme",
            "pubmark.md",
            "# Public\n\nThe kettle warranty note pubmark says three years.\n",
            ("public",),
        )
        _put(rw, tmp, "acme", "intmark.md", "# Internal\n\nThe kettle warranty memo intmark: 42 percent margin.\n",
             ("internal",))  # fmt: skip
        _put(rw, tmp, "other", "othmark.md", "# Other\n\nThe kettle warranty note othmark of the other tenant.\n")
        for tenant in ("acme.scratch", "other.scratch"):
            _put(rw, tmp, tenant, "int.md", SCRATCH_INT)
        for p in PRINCIPALS:
            _put(rw, tmp, "acme.scratch", f"del-{p.name}.md", f"# Delete\n\nDelete me, {p.name}.\n", ("internal",))
            _put(rw, tmp, "acme.scratch", f"tag-{p.name}.md", f"# Tags\n\nRetag me, {p.name}.\n", ("internal",))
    finally:
        rw.close()
    with contextlib.closing(Ragwright(settings)) as rw:
        for text in ("Hello $who, says acme.", "Hello $who, says acme-private."):
            rw.prompts.create("acme", "greeting", text, ("who",), note="acme-private greeting")
    ledger = UsageLedger(settings.ledger_path)  # spend of each tenant, named by a marker (read by GET /v1/usage)
    for tenant, kb in (("acme", ACME_KB), ("other", OTH)):
        ledger.record(UsageRecord(tenant=tenant, kb=kb, model_requested="default", model="fake:echo", cost_usd=0.1))
    ledger.close()
    _eval_files(settings.data_dir / "evals")
    registry = KnowledgeBases(settings.data_dir / "service.sqlite")
    for tenant, kb in (("acme", "scratch"), ("acme", ACME_KB), ("other", "scratch")):
        registry.add(tenant, kb)
    registry.close()
    keys: dict[str, str] = {}
    with KeyStore(settings.data_dir / "keys.sqlite") as store:
        for p in PRINCIPALS:
            if p.tenant is not None:
                keys[p.name], key = store.create(p.tenant, scopes=p.scopes, tags=p.tags, name=p.name)
                if p.revoked:
                    store.revoke(key.key_id)
    return settings, keys


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in __import__("os").environ if k.startswith("RAGWRIGHT_")]:
            mp.delenv(name)
        mp.chdir(tmp)
        settings, keys = _build(tmp)
        app = create_app(settings)
        rw = Ragwright(settings)
        mcp_keys = KeyStore(settings.data_dir / "keys.sqlite")
        mcp_app = build_http_app(build_server(RagTools(rw), key_from_http, KeyRateLimiter(None)), mcp_keys)
        with contextlib.ExitStack() as stack:
            http_url = stack.enter_context(contextlib.contextmanager(run_server)(app))
            mcp_url = stack.enter_context(contextlib.contextmanager(run_server)(mcp_app))  # type: ignore[arg-type]
            w = World(settings, app, http_url, f"{mcp_url}/mcp", keys)
            for uploader in ("write", "write_public"):
                r = httpx.post(
                    f"{http_url}/v1/documents",
                    headers=_headers(w, next(p for p in PRINCIPALS if p.name == uploader)),
                    files=[("files", (f"job-{uploader}.md", b"# Job\n\nA job upload.\n"))],
                    data={"knowledge_base": "scratch"},
                    timeout=30,
                )
                assert r.status_code == 202, r.text
                w.jobs[uploader] = r.json()["id"]
            for starter in ("read", "read_public"):
                r = httpx.post(
                    f"{http_url}/v1/agent/runs",
                    headers=_headers(w, next(p for p in PRINCIPALS if p.name == starter)),
                    json={"task": "ping", "stream": False},
                    timeout=30,
                )
                assert r.status_code == 200 and r.json()["status"] == "done", r.text
                w.jobs[f"run_{starter}"] = r.json()["id"]
            r = httpx.post(
                f"{http_url}/v1/search",
                json={"query": QUERY, "k": 20},
                headers={
                    **_headers(w, next(p for p in PRINCIPALS if p.name == "admin")),
                    "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
                },
                timeout=30,
            )
            assert r.status_code == 200, r.text
            assert tracing.flush()
            yield w
        mcp_keys.close()
        rw.close()


@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
async def test_matrix(world: World, row: Row, p: Principal) -> None:
    seen = await row.run(world, p)
    expected = row.expect(p)
    if row.subset:
        assert (seen.status, seen.outcome) == (expected.status, expected.outcome)
        assert seen.markers <= expected.markers, f"{p.name} saw {sorted(seen.markers - expected.markers)}"
    else:
        assert seen == expected


def _route_keys(routes: list[Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI >= 0.160 keeps included routers as such
            if UI_TAG in route.original_router.tags:  # the web UI's pages: cookie sessions, tests/ui/test_ui_authz.py
                continue
            keys |= _route_keys(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "methods") and route.methods:
            keys |= {f"{m} {prefix}{route.path}" for m in route.methods if m != "HEAD"}
        else:  # mounts, websockets: a row must say who may use them too
            keys.add(f"{type(route).__name__.upper()} {prefix}{getattr(route, 'path', '?')}")
    return keys


async def test_every_route_and_tool_has_a_row(world: World) -> None:
    http_rows = {r.surface for r in ROWS if not r.surface.startswith("mcp:")}
    assert _route_keys(list(world.app.routes)) == http_rows
    http = _mcp_http({"Authorization": f"Bearer {world.keys['admin']}"})
    async with http, Client(streamable_http_client(world.mcp, http_client=http)) as c:
        tools = {f"mcp:{t.name}" for t in (await c.list_tools()).tools}
    server = build_server(RagTools(Ragwright(world.settings)), key_from_http, KeyRateLimiter(None))
    methods = {f"mcp:{m}" for m in server._request_handlers if m not in MCP_UNGATED}
    assert tools | methods == {r.surface for r in ROWS if r.surface.startswith("mcp:")}
    assert {p.name for p in PRINCIPALS} >= {"anonymous", "revoked", "read_public", "write_public", "other_admin"}
