"""The Evaluations page in a real browser: start two runs from a dataset and watch them finish, open a run (summary,
gate verdict, failing cases with their retrieved passages, the embedded report), compare the two; a reader may read
runs but not start one; axe on each page populated; screenshots at 375 and 1440 px."""

from __future__ import annotations

import json
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import PAGE_BUDGET, UiServer, assert_accessible, login, page_weight, screenshots

CASES = [
    {"id": "warranty", "question": "How long is the Quillfin Vault warranty?", "reference_answer": "two years"},
    {"id": "reset", "question": "How do I factory reset the vault?", "reference_answer": "hold the reset button"},
    {"id": "moon", "question": "What is the airspeed of a swallow on the moon?", "answerable": False},
]
GATE = "[metrics.abstention_accuracy]\nmin = 0.0\n[metrics.latency_ms]\nmax = 600000\n"


def _dataset(ui: UiServer) -> str:
    name = f"ui-smoke-{uuid.uuid4().hex[:6]}"
    folder = ui.data_dir / "evals" / "default" / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    (folder.parent / "gate.toml").write_text(GATE, encoding="utf-8")
    return name


def _start(page: Any, dataset: str, run: str) -> None:
    page.goto("/evals")
    page.get_by_label("Dataset").select_option(dataset)
    page.get_by_label("Run name").fill(run)
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url("**/evals/run?*")
    page.get_by_role("heading", name="Summary").wait_for(timeout=120_000)  # htmx follows it, then the page reloads


def test_start_runs_open_one_and_compare_two(page: Any, ui: UiServer) -> None:
    dataset = _dataset(ui)
    base, new = f"{dataset}-base", f"{dataset}-new"
    login(page, ui.keys["writer"], "/evals")
    page.get_by_role("heading", name="Evaluations", level=1).wait_for()
    _start(page, dataset, base)
    _start(page, dataset, new)

    expect(page.get_by_role("heading", name=f"Eval run {new}")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.locator("#gate-h + p")).to_contain_text("Passed")
    expect(page.get_by_role("heading", name="Failing cases", exact=False)).to_be_visible()
    failing = page.locator("details.case")
    if failing.count():  # open the first failing case: its answer and its retrieved passages
        failing.first.locator("summary").click()
        expect(failing.first.get_by_role("heading", name="Retrieved passages")).to_be_visible()
    report = page.frame_locator("iframe.report")
    expect(report.get_by_role("heading", level=1)).to_contain_text(new)
    page.get_by_label("Gate against a baseline").select_option(base)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#gate-h + p")).to_contain_text(f"against baseline {base}")
    assert_accessible(page, "one eval run")
    screenshots(page, "evals-run")

    page.goto("/evals")
    runs = page.get_by_role("region", name="Eval runs")
    expect(runs.get_by_role("link", name=base)).to_be_visible()
    expect(runs.get_by_role("link", name=new)).to_be_visible()
    assert_accessible(page, "the runs list")
    screenshots(page, "evals-runs")
    page.get_by_label("Baseline").select_option(base)
    page.get_by_label("New", exact=True).select_option(new)
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("heading", name=f"{new} vs {base}").wait_for()
    deltas = page.get_by_role("region", name="Metric deltas")
    expect(deltas.locator("tbody tr").first).to_be_visible()
    expect(deltas).to_contain_text("no detectable change")  # the same dataset on the same index: no change
    expect(deltas.locator("td").filter(has_text="[+0.0000, +0.0000]").first).to_be_visible()  # the 95% interval
    assert_accessible(page, "a comparison")
    screenshots(page, "evals-compare")
    weight = page_weight(page, "/evals")
    print(f"evals page weight: {weight.total} bytes gzip")
    assert weight.total <= PAGE_BUDGET


def test_a_reader_reads_runs_but_may_not_start_one(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/evals")
    page.get_by_role("heading", name="Evaluations", level=1).wait_for()
    expect(page.get_by_text("Starting a run needs a key with the write scope", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Start run")).to_have_count(0)
    page.goto("/evals/run?name=no-such-run")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
