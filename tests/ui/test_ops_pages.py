"""The Operations pages over HTTP (no browser): what each admin key may see and do, by tenant and tags.

Tenant ``acme`` has an unrestricted admin and one limited to tag ``public``; tenant ``other`` has its own admin. Each
page must show a key only its own tenant's keys, spend, traces, prompts and runs, and a tag-limited admin only the
keys and runs its tags cover; whatever is out of reach reads as missing (404), also for writes.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright.config import RedisSettings, load_settings
from ragwright.gateway.ledger import UsageLedger, UsageRecord
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.http.app import create_app
from ragwright.observability import tracing
from ragwright.testing import FakeChatModel, Reply, ScriptedGateway
from tests.http.conftest import clean_env, run_server

MODEL = "fake:agent"


def planner(request: ChatRequest) -> Reply | str:
    if not any(m.role == "tool" for m in request.messages):
        return Reply(tool_calls=(ToolCall("g1", "get_document", json.dumps({"doc_id": "kettle.md"})),))
    return "done"


@dataclass
class World:
    url: str
    app: Any
    keys: dict[str, str]
    ids: dict[str, str]
    run: str = ""
    trace: str = ""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("ops-pages")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        clean_env(mp)
        settings = load_settings(
            data_dir=tmp / "data",
            embedding={"model": "fake"},
            service={"rate_limit_rpm": None},
            gateway={"chain": [MODEL]},
            agent={"require_approval": ["get_document"]},
            observability={"tracing": "local"},
        )
        ledger = UsageLedger(settings.ledger_path)
        for tenant, kb in (("acme", "acmemarker"), ("other", "othermarker")):
            ledger.record(UsageRecord(tenant=tenant, kb=kb, model_requested=MODEL, model=MODEL, cost_usd=0.5))
        ledger.close()
        app = create_app(settings, gateway=ScriptedGateway({MODEL: FakeChatModel(planner, name=MODEL)}))
        store = app.state.service.keys
        keys, ids = {}, {}
        for role, tenant, scopes, tags in (
            ("admin", "acme", ("admin",), ()),
            ("public_admin", "acme", ("admin",), ("public",)),
            ("reader", "acme", ("read",), ()),
            ("public_reader", "acme", ("read",), ("public",)),
            ("other_admin", "other", ("admin",), ()),
        ):
            keys[role], key = store.create(tenant, scopes=scopes, tags=tags, name=role)
            ids[role] = key.key_id
        with contextlib.contextmanager(run_server)(app) as url:
            w = World(url, app, keys, ids)
            r = httpx.post(
                f"{url}/v1/agent/runs",
                headers={"Authorization": f"Bearer {keys['reader']}"},
                json={"task": "runmarker task", "stream": False},
                timeout=30,
            )
            assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
            w.run = r.json()["id"]
            r = httpx.get(f"{url}/v1/agent/runs", headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=30)
            assert tracing.flush()
            traces = httpx.get(f"{url}/v1/traces", headers={"Authorization": f"Bearer {keys['admin']}"}).json()
            w.trace = traces["data"][0]["trace_id"]
            yield w


@contextlib.contextmanager
def session(world: World, role: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=world.url, timeout=30) as c:
        login = c.post("/login", data={"key": world.keys[role], "next": "/ops"})
        assert login.status_code == 303, (login.status_code, login.headers, login.text[:500])
        page = c.get("/ops")
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        yield c, token.group(1)


def test_keys_page_shows_and_revokes_only_keys_within_reach(world: World) -> None:
    with session(world, "public_admin") as (c, csrf):
        listed = c.get("/ops/keys").text
        assert world.ids["public_reader"] in listed and world.ids["public_admin"] in listed
        for out_of_reach in ("admin", "reader", "other_admin"):
            assert world.ids[out_of_reach] not in listed
            assert c.get(f"/ops/keys/{world.ids[out_of_reach]}/revoke").status_code == 404
            r = c.post(f"/ops/keys/{world.ids[out_of_reach]}/revoke", data={"csrf_token": csrf})
            assert r.status_code == 404
        assert not any(k.revoked for k in world.app.state.service.keys.list())
        refused = c.post("/ops/keys", data={"csrf_token": csrf, "name": "x", "scopes": ["read"], "tags": ""})
        assert refused.status_code == 400 and "only create keys limited to its tags" in refused.text
        assert "rw_" not in refused.text
        made = c.post("/ops/keys", data={"csrf_token": csrf, "name": "y", "scopes": ["read"], "tags": "public"})
        assert made.status_code == 200 and re.search(r'value="rw_[0-9a-f]{12}_', made.text)
    with session(world, "other_admin") as (c, _):
        listed = c.get("/ops/keys").text
        assert world.ids["other_admin"] in listed and world.ids["admin"] not in listed


def test_usage_traces_prompts_and_runs_are_the_tenants_own(world: World) -> None:
    with session(world, "other_admin") as (c, csrf):
        usage = c.get("/ops/usage").text
        assert "othermarker" in usage and "acmemarker" not in usage
        assert world.trace not in c.get("/ops/traces").text
        assert c.get(f"/ops/traces/{world.trace}").status_code == 404
        assert "runmarker" not in c.get("/ops/agents").text
        assert c.get(f"/ops/agents/{world.run}").status_code == 404
        decided = c.post(
            f"/ops/agents/{world.run}/decisions", data={"csrf_token": csrf, "call_id": "g1", "decision": "deny"}
        )
        assert decided.status_code == 404
        moved = c.post("/ops/prompts/answer/labels", data={"csrf_token": csrf, "label": "staging", "version": "1"})
        assert moved.status_code == 303
    with session(world, "admin") as (c, _):
        usage = c.get("/ops/usage").text
        assert "acmemarker" in usage and "othermarker" not in usage
        assert world.trace in c.get("/ops/traces").text
        assert c.get(f"/ops/traces/{world.trace}").status_code == 200
        assert "staging → v" not in c.get("/ops/prompts/answer").text  # other's label move stayed in its tenant


def test_a_tag_limited_admin_neither_sees_nor_decides_runs_of_wider_keys(world: World) -> None:
    with session(world, "public_admin") as (c, csrf):
        assert "runmarker" not in c.get("/ops/agents").text
        assert c.get(f"/ops/agents/{world.run}").status_code == 404
        r = c.post(f"/ops/agents/{world.run}/decisions", data={"csrf_token": csrf, "call_id": "g1", "decision": "deny"})
        assert r.status_code == 404
    with session(world, "admin") as (c, csrf):
        assert "runmarker" in c.get("/ops/agents").text
        bad = c.post(
            f"/ops/agents/{world.run}/decisions", data={"csrf_token": csrf, "call_id": "nope", "decision": "deny"}
        )
        assert bad.status_code == 409  # not a call waiting for a decision: the run is untouched
        r = c.post(f"/ops/agents/{world.run}/decisions", data={"csrf_token": csrf, "call_id": "g1", "decision": "deny"})
        assert r.status_code == 303
        page = c.get(r.headers["location"]).text
        assert 'id="run-status">done<' in page and "a human denied this call" in page


def test_the_pages_say_what_they_need_when_nothing_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    settings = load_settings(
        data_dir=tmp_path / "data", embedding={"model": "fake"}, service={"rate_limit_rpm": None},
        gateway={"ledger": False}, observability={"tracing": "off"},
    )  # fmt: skip
    app = create_app(settings, gateway=ScriptedGateway({}))
    raw, _ = app.state.service.keys.create("acme", scopes=("admin",))
    with contextlib.contextmanager(run_server)(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        assert c.post("/login", data={"key": raw, "next": "/ops"}).status_code == 303
        assert "tracing = &#34;local&#34; is set" in c.get("/ops/traces").text
        assert "gateway.ledger = false" in c.get("/ops/usage").text
        assert "No runs." in c.get("/ops/agents").text
        overview = c.get("/ops").text
        assert "tracing = &#34;local&#34;" in overview and "gateway.ledger = false" in overview


def test_a_key_revoked_on_one_replicas_page_is_refused_by_the_other_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_settings: RedisSettings
) -> None:
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    secret = tmp_path / "ui.secret"
    secret.write_text("s" * 40, encoding="utf-8")
    settings = load_settings(
        data_dir=tmp_path / "data", embedding={"model": "fake"}, service={"rate_limit_rpm": None},
        gateway={"ledger": False}, redis=redis_settings.model_dump(), ui={"session_secret": f"file:{secret}"},
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        apps = [create_app(settings, gateway=ScriptedGateway({})) for _ in range(2)]
        urls = [stack.enter_context(contextlib.contextmanager(run_server)(app)) for app in apps]
        admin, _ = apps[0].state.service.keys.create("acme", scopes=("admin",))
        victim, key = apps[0].state.service.keys.create("acme", scopes=("read",))
        bearer = {"Authorization": f"Bearer {victim}"}
        assert httpx.get(f"{urls[1]}/v1/documents", headers=bearer).status_code == 200  # replica B now trusts it
        with httpx.Client(base_url=urls[0], timeout=30) as c:
            assert c.post("/login", data={"key": admin, "next": "/ops/keys"}).status_code == 303
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/ops/keys").text)
            assert token
            r = c.post(f"/ops/keys/{key.key_id}/revoke", data={"csrf_token": token.group(1)})
            assert r.status_code == 303
        # within B's verified-key second, yet refused: the page announced the revocation through Redis
        assert httpx.get(f"{urls[1]}/v1/documents", headers=bearer).status_code == 401


def test_notices_come_from_what_happened_not_from_the_link(world: World) -> None:
    with session(world, "admin") as (c, _):
        assert "was revoked" not in c.get("/ops/keys", params={"revoked": "fake-news"}).text
        assert "moved." not in c.get("/ops/prompts/answer", params={"moved": "fake-news"}).text
        assert "the run went on" not in c.get(f"/ops/agents/{world.run}", params={"decided": "fake-news"}).text
