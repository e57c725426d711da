"""Browser tests of the Operations pages (admin keys): keys, usage and cost, traces, prompts, agent runs and approvals.

Keys and the scope check run against the harness's real `ragwright serve` over the sample corpus (``ui``). Usage,
traces, prompts and agent runs run against the service app on a real loopback uvicorn server in this process
(``tests.http.conftest.run_server``): an agent run that pauses for approval needs a scripted model
(:class:`~ragwright.testing.FakeChatModel`), which a `ragwright serve` process cannot be given. The model sits behind
the real gateway (ledger, budgets, tracing), so the usage page and the traces show what real requests recorded.
Pages are checked with axe-core in a populated state (the new key's dialog open, lists and charts filled) and
photographed at 375 and 1440 px.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ragwright.config import load_settings
from ragwright.gateway.build import Gateway
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.http.app import create_app
from ragwright.observability import tracing
from ragwright.testing import FakeChatModel, Reply
from tests.http.conftest import clean_env, run_server
from tests.ui.conftest import PAGE_BUDGET, UiServer, assert_accessible, open_page, page_weight, screenshots

MODEL = "paid:agent"
DOC = b"# Kettle\n\nThe kettle warranty is 3 years. Descaling is free within the first year.\n"


def scripted(request: ChatRequest) -> Reply | str:
    """The model: answers questions from one sentence; as an agent, searches, then asks to read a document (which
    needs approval), then answers."""
    if not request.tools:
        return "The kettle warranty is 3 years."
    seen = [m for m in request.messages if m.role == "tool"]
    if not seen:
        return Reply(tool_calls=(ToolCall("s1", "search", json.dumps({"query": "kettle warranty"})),))
    if len(seen) == 1:
        return Reply(tool_calls=(ToolCall("g1", "get_document", json.dumps({"doc_id": "kettle.md"})),))
    return "The kettle warranty is 3 years [1]."


@dataclass
class Ops:
    """The server and what the fixture made: keys by role, the paused run."""

    url: str
    app: Any
    keys: dict[str, str]
    run_id: str = ""


def _agent_run(c: httpx.Client) -> str:
    r = c.post("/v1/agent/runs", json={"task": "How long is the kettle warranty?", "stream": False})
    assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    tmp = tmp_path_factory.mktemp("ops")
    prices = tmp / "prices.toml"
    prices.write_text(f'["{MODEL}"]\ninput = 200.0\noutput = 800.0\n', encoding="utf-8")  # USD per million tokens
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        clean_env(mp)
        settings = load_settings(
            data_dir=tmp / "data",
            embedding={"model": "fake"},
            service={"rate_limit_rpm": None},
            gateway={"chain": [MODEL], "prices_file": str(prices), "cache": {"exact": False}},
            answer={"generator": "gateway"},
            agent={"require_approval": ["get_document"]},
            observability={"tracing": "local"},
        )
        price_table = PriceTable.load(prices)
        gateway = Gateway(
            settings, provider_factory=lambda spec: FakeChatModel(scripted, name=spec, prices=price_table)
        )
        app = create_app(settings, gateway=gateway)
        store = app.state.service.keys
        keys = {
            role: store.create("acme", scopes=scopes, name=role)[0]
            for role, scopes in (("admin", ("admin",)), ("reader", ("read", "write")))
        }
        with contextlib.contextmanager(run_server)(app) as url:
            world = Ops(url, app, keys)
            with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {keys['admin']}"}) as c:
                r = c.post("/v1/documents", files=[("files", ("kettle.md", DOC))], data={"tags": "public"})
                assert r.status_code == 202, r.text
                deadline = time.monotonic() + 60
                while c.get(f"/v1/jobs/{r.json()['id']}").json()["status"] not in ("succeeded", "failed"):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                for question in ("How long is the kettle warranty?", "Is descaling free?", "What does it cost?"):
                    assert c.post("/v1/answer", json={"question": question}).status_code == 200
                world.run_id = _agent_run(c)
            assert tracing.flush()
            yield world


@pytest.fixture
def tab(browser: Any, ops: Ops) -> Iterator[Any]:
    """A fresh guarded page (the harness's ``open_page``) on this module's server."""
    with open_page(browser, ops.url) as page:
        yield page


def log_in(page: Any, raw_key: str, next_path: str = "/ops") -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("API key").fill(raw_key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")


def test_a_key_is_created_shown_once_and_revoking_it_ends_its_session(new_page: Any, ui: UiServer) -> None:
    """On the real `ragwright serve` over the sample corpus (the harness's ``ui``)."""
    admin = new_page()
    log_in(admin, ui.keys["admin"], "/ops/keys")
    expect(admin.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    name = f"support {uuid.uuid4().hex[:6]}"
    admin.get_by_label("Name", exact=True).fill(name)
    admin.get_by_label("Tags").fill("public")
    admin.get_by_role("button", name="Create key").click()
    expect(admin.get_by_role("dialog", name="Key created: copy it now")).to_be_visible()
    raw = admin.get_by_label("The new API key").input_value()
    assert raw.startswith("rw_")
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin.get_by_role("button", name="Copy key").click()
    admin.get_by_text("Copied to the clipboard.").wait_for()
    assert admin.evaluate("navigator.clipboard.readText()") == raw
    assert_accessible(admin, "keys page with the new key's dialog open")
    screenshots(admin, "ops-keys")
    kid = raw.split("_")[1]

    holder = new_page()  # someone logged in with the new key
    log_in(holder, raw, "/")
    assert "/login" not in holder.url

    admin.goto("/ops/keys")  # shown once: never again
    assert raw not in admin.content() and kid in admin.content()
    admin.get_by_role("link", name=f"Revoke key {name}").click()
    expect(admin.get_by_role("heading", name=f"Revoke key {name}?")).to_be_visible()
    assert_accessible(admin, "revoke confirmation")
    admin.get_by_role("button", name="Revoke key").click()
    expect(admin.get_by_text(f"Key {kid} was revoked")).to_be_visible()

    holder.reload()  # the session ended at once
    assert "/login" in holder.url
    expect(holder.get_by_text("the key it used was revoked")).to_be_visible()
    again = new_page()
    log_in(again, raw, "/")
    expect(again.get_by_text("That API key is not valid, or it has been revoked.")).to_be_visible()
    assert httpx.get(f"{ui.url}/v1/documents", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_usage_page_charts_the_recorded_spend(tab: Any, ops: Ops) -> None:
    log_in(tab, ops.keys["admin"], "/ops/usage")
    charts = tab.locator("svg.chart")
    assert charts.count() == 5  # by day, model, key, knowledge base, prompt version
    assert tab.locator("svg#chart-model rect.chart-bar").count() == 1
    assert "paid:agent" in tab.locator("svg#chart-model").inner_html()
    assert "answer@" in tab.locator("svg#chart-prompt").inner_html()  # answers record their prompt version
    assert (tab.locator("svg#chart-day > title").text_content() or "").startswith("Cost (USD) per day")
    tab.get_by_text("Table: by model").click()
    assert tab.get_by_role("table", name="Usage by model").get_by_role("row").count() >= 2
    assert_accessible(tab, "usage page with charts and an open table")
    screenshots(tab, "ops-usage")


def test_a_trace_waterfall_renders(tab: Any, ops: Ops) -> None:
    log_in(tab, ops.keys["admin"], "/ops/traces")
    tab.get_by_label("Root span").select_option("POST /v1/answer")
    tab.get_by_role("button", name="Filter").click()
    rows = tab.get_by_role("table").locator("tbody tr")
    assert rows.count() == 3 and "POST /v1/answer" in rows.first.inner_text()
    assert_accessible(tab, "traces list")
    screenshots(tab, "ops-traces")
    rows.first.get_by_role("link").click()
    bars = tab.locator(".waterfall li")
    assert bars.count() >= 4
    widths = [float(re.search(r"width: ([\d.]+)%", b.get_attribute("style") or "").group(1))  # type: ignore[union-attr]
              for b in tab.locator(".wf-bar").all()]  # fmt: skip
    assert widths[0] > 90 and all(0 < w <= 100 for w in widths)  # the root spans (nearly) the whole trace
    assert_accessible(tab, "trace waterfall")
    screenshots(tab, "ops-trace")


def test_prompts_and_moving_a_label(tab: Any, ops: Ops) -> None:
    log_in(tab, ops.keys["admin"], "/ops/prompts")
    expect(tab.get_by_role("link", name="answer", exact=True)).to_be_visible()
    assert_accessible(tab, "prompts list")
    screenshots(tab, "ops-prompts")
    tab.get_by_role("link", name="answer", exact=True).click()
    tab.get_by_label("Label", exact=True).select_option("staging")
    tab.get_by_role("button", name="Move label").click()
    expect(tab.get_by_text("Label staging moved.")).to_be_visible()
    assert "staging → v1" in tab.content()
    assert_accessible(tab, "one prompt")
    screenshots(tab, "ops-prompt")


def test_a_paused_agent_run_is_approved_from_the_page(tab: Any, ops: Ops) -> None:
    log_in(tab, ops.keys["admin"], "/ops/agents")
    pending = tab.get_by_role("article", name="How long is the kettle warranty?")
    expect(pending.get_by_text("get_document").first).to_be_visible()
    assert_accessible(tab, "agent runs with a pending approval")
    screenshots(tab, "ops-agents")
    pending.get_by_role("button", name="Approve get_document").click()
    expect(tab.locator("#run-status")).to_have_text("done")
    expect(tab.get_by_text("The kettle warranty is 3 years [1].").first).to_be_visible()
    assert_accessible(tab, "one agent run")
    screenshots(tab, "ops-run")
    tab.goto("/ops")
    assert_accessible(tab, "operations overview")
    screenshots(tab, "ops-overview")
    weights = {path: page_weight(tab, path).total for path in ("/ops/usage", "/ops/traces", "/ops/agents")}
    assert all(w <= PAGE_BUDGET for w in weights.values()), weights


def test_a_key_without_admin_cannot_open_operations(page: Any, ui: UiServer) -> None:
    log_in(page, ui.keys["reader"], "/")
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").count() == 0
    for path in ("/ops", "/ops/keys", "/ops/usage", "/ops/traces", "/ops/prompts", "/ops/agents", "/ops/agents/run_x",
                 "/ops/traces/0123", "/ops/prompts/answer"):  # fmt: skip
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_paused_call_is_approved_with_edited_arguments(tab: Any, ops: Ops) -> None:
    with httpx.Client(base_url=ops.url, timeout=60, headers={"Authorization": f"Bearer {ops.keys['admin']}"}) as c:
        run_id = _agent_run(c)
    log_in(tab, ops.keys["admin"], f"/ops/agents/{run_id}")
    call = tab.locator(f"#call-{run_id}-g1")
    call.get_by_text("Edit the arguments, then approve").click()
    box = call.get_by_label("Arguments of get_document (JSON)")
    assert json.loads(box.input_value())["doc_id"] == "kettle.md"  # the arguments the call would run with
    approve = call.get_by_role("button", name="Approve the edited get_document call")
    for text, reason in (('{"doc_id": ', "not valid JSON"), ('["kettle.md"]', "must be a JSON object"),
                         ('{"doc": "kettle.md"}', "edited arguments for get_document are invalid")):  # fmt: skip
        box.fill(text)
        approve.click()
        tab.wait_for_load_state("load")
        call = tab.locator(f"#call-{run_id}-g1")  # the run page again, the call still waiting
        box = call.get_by_label("Arguments of get_document (JSON)")
        assert reason in call.get_by_role("alert").inner_text()
        assert box.input_value() == text and box.get_attribute("aria-invalid") == "true"  # what was typed, kept
        approve = call.get_by_role("button", name="Approve the edited get_document call")
    assert_accessible(tab, "edited arguments refused")
    screenshots(tab, "ops-edit-arguments")
    box.fill('{"doc_id": "descaling.md"}')
    approve.click()
    expect(tab.locator("#run-status")).to_have_text("done")
    steps = tab.locator(".steps")
    assert "descaling.md" in steps.inner_text()  # the call ran with the human's arguments, not the model's
