"""The Chat page in a real browser against `ragwright serve` over the sample corpus (extractive answerer).

Asks, watches the answer stream with its citations, opens a PDF citation (pdf.js renders the cited page; the
highlight is drawn over the sentence) and a Markdown one (the span marked in the file), rates an answer and exports
the rating with ``ragwright eval import feedback``, checks the abstention view, accessibility with the panel open,
no layout shift while streaming, and reports the time from Enter to the first sentence on screen (Performance API;
printed and written to ``ui-screenshots/chat-timings.json``, never asserted).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import PAGE_BUDGET, SCREENSHOTS, UiServer, assert_accessible, login, page_weight, screenshots

CLS_OBSERVER = """(buffered) => {
  if (window.__clsObserver) window.__clsObserver.disconnect();
  window.__cls = 0; window.__shifts = [];
  window.__clsObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!e.hadRecentInput) {
        window.__cls += e.value;
        const names = e.sources.map((s) => s.node && (s.node.id || s.node.className || s.node.nodeName));
        window.__shifts.push([e.value, names]);
      }
    }
  });
  window.__clsObserver.observe({type: "layout-shift", buffered: buffered !== false});
}"""


def _ask(page: Any, question: str) -> Any:
    """Type ``question``, press Enter, wait for the whole answer; return its turn."""
    before = page.locator(".turn").count()
    page.get_by_label("Question").fill(question)
    page.get_by_label("Question").press("Enter")
    turn = page.locator(".turn").nth(before)
    turn.locator('.answer[aria-busy="false"]').wait_for()
    return turn


def _record_timing(name: str, ms: float) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / "chat-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = round(ms, 1)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nfirst answer sentence visible after Enter ({name}): {ms:.0f} ms")


def test_chat_streams_a_cited_answer_and_opens_the_pdf_at_the_cited_page(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/chat")
    page.get_by_role("heading", name="Chat", level=1).wait_for()
    assert page.get_by_label("Knowledge base").input_value() == "default"
    page.evaluate(CLS_OBSERVER)
    turn = _ask(page, "When does the warranty period start?")
    assert page.evaluate("window.__cls") == 0, page.evaluate("window.__shifts")  # nothing moved while it streamed
    ms = page.evaluate("window.ragwrightChat.timings[0]")
    assert isinstance(ms, float | int) and ms > 0
    _record_timing("warranty question, extractive", float(ms))
    assert page.evaluate("performance.getEntriesByName('rw-first-sentence').length") == 1
    text = turn.locator(".answer-text").inner_text()
    assert "warranty period starts" in text and "[1]" in text
    meta = turn.locator(".answer-meta").inner_text()
    assert "Answerability" in meta and "%" in meta and "Answered by" in meta and "extractive" in meta
    assert "Prompt" in meta
    screenshots(page, "chat-answer")

    cite = turn.locator("button.cite", has_text="[1]")
    label = cite.get_attribute("aria-label") or ""
    assert ".pdf" in label, label
    cited_page = int(re.search(r"page (\d+)", label).group(1))  # type: ignore[union-attr]
    cite.click()
    panel = page.locator("#source-panel")
    page.locator('#source-panel[data-state="ready"]').wait_for()
    assert page.locator("#pdf-page").get_attribute("data-page") == str(cited_page)
    assert page.locator("#pdf-page-label").inner_text().startswith(f"Page {cited_page} of ")
    assert "warranty period starts on the delivery date" in page.locator("#source-highlighted").inner_text()
    marks = page.locator(".pdf-mark")
    assert marks.count() >= 1
    canvas = page.locator("#pdf-canvas").bounding_box()
    box = marks.first.bounding_box()
    assert canvas and box and canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"] + 1
    assert canvas["y"] <= box["y"] <= canvas["y"] + canvas["height"]
    assert page.evaluate("document.activeElement.id") == "source-title"  # focus moved into the panel
    assert_accessible(page, "chat with an answer and the PDF citation open")
    screenshots(page, "chat-citation", full_page=False)  # the README's set (scripts/ui_screenshots.py)
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate("document.activeElement.dataset.n") == "1"  # focus back on the citation


def test_a_markdown_citation_shows_the_marked_span_and_a_follow_up_uses_the_conversation(
    page: Any, ui: UiServer
) -> None:
    login(page, ui.keys["reader"], "/chat")
    page.evaluate(CLS_OBSERVER)
    turn = _ask(page, "How long does the first boot take?")
    assert page.evaluate("window.__cls") == 0, page.evaluate("window.__shifts")
    ms = page.evaluate("window.ragwrightChat.timings[0]")
    _record_timing("first-boot question, extractive", float(ms))
    cite = turn.locator("button.cite").first
    assert ".md" in (cite.get_attribute("aria-label") or "")
    cite.click()
    page.locator('#source-panel[data-state="ready"]').wait_for()
    rendered = page.locator("#source-rendered")  # the file rendered: headings are headings, the span is marked
    mark = rendered.locator("mark.source-mark").first
    assert "first boot takes about four minutes" in mark.inner_text()
    expect(rendered.get_by_role("heading", name="First boot")).to_be_visible()
    expect(mark).to_be_visible()  # scrolled into view
    page.get_by_role("button", name="Show the file's text").click()  # the file itself, the same span marked
    text_mark = page.locator("#source-text mark.source-mark").first
    assert "first boot takes about four minutes" in text_mark.inner_text()
    expect(text_mark).to_be_visible()
    assert "### First boot" in page.locator("#source-text").inner_text()
    page.get_by_role("button", name="Show it rendered").click()
    assert_accessible(page, "chat with a Markdown citation open")
    screenshots(page, "chat-markdown-citation", full_page=False)
    page.get_by_role("button", name="Close the source panel").click()
    page.evaluate(CLS_OBSERVER, False)  # the screenshots resized the window: count from here, not from the buffer
    follow = _ask(page, "And when does the status light turn green?")
    assert "status light" in follow.locator(".answer-text").inner_text().lower()
    assert page.evaluate("window.__cls") == 0, page.evaluate("window.__shifts")


def test_an_html_citation_opens_the_page_rendered_with_the_span_marked(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/chat")
    turn = _ask(page, "How much does the Quillfin Vault Q2 cost?")
    cite = turn.locator("button.cite").first
    assert "pricing.html" in (cite.get_attribute("aria-label") or "")
    cite.click()
    page.locator('#source-panel[data-state="ready"]').wait_for()
    rendered = page.locator("#source-rendered")
    assert "349 US dollars" in rendered.locator("mark.source-mark").first.inner_text()
    expect(rendered.get_by_role("heading", name="Quillfin Vault pricing")).to_be_visible()
    assert rendered.locator("script, img, button, form").count() == 0
    assert_accessible(page, "chat with an HTML citation open")
    screenshots(page, "chat-html-citation", full_page=False)


def test_an_abstention_shows_the_closest_passages(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/chat")
    turn = _ask(page, "Who won the 1954 football world cup final in Bern?")
    assert "abstained" in (turn.locator(".answer").get_attribute("class") or "")
    closest = turn.locator(".closest")
    expect(closest.get_by_role("heading", name="Closest passages in the documents")).to_be_visible()
    assert closest.locator("li").count() >= 1
    closest.get_by_role("button").first.click()
    page.locator('#source-panel[data-state="ready"]').wait_for()
    assert page.locator("#source-highlighted").inner_text().strip()
    assert_accessible(page, "chat with an abstention and a closest passage open")
    screenshots(page, "chat-abstention")


def test_feedback_is_stored_and_exported_as_an_eval_case(page: Any, ui: UiServer, tmp_path: Any) -> None:
    login(page, ui.keys["reader"], "/chat")
    turn = _ask(page, "What is on the recovery card?")
    turn.get_by_role("button", name="Thumbs down: not helpful").click()
    assert turn.get_by_role("button", name="Thumbs down: not helpful").get_attribute("aria-pressed") == "true"
    turn.get_by_label("Comment (optional)").fill("should say where to store the card")
    turn.get_by_role("button", name="Send feedback").click()
    turn.get_by_text("Thank you: your feedback was saved.").wait_for()
    assert_accessible(page, "chat after feedback")
    screenshots(page, "chat-feedback")
    out = tmp_path / "feedback.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env["RAGWRIGHT_DATA_DIR"] = str(ui.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "ragwright", "eval", "import", "feedback", "--out", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [c for c in cases if c["question"] == "What is on the recovery card?"]
    assert mine and mine[-1]["note"] == "should say where to store the card"
    assert "feedback:down" in mine[-1]["tags"] and mine[-1].get("reference_answer") is None


def test_a_post_without_the_csrf_token_is_refused(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/chat")
    status = page.evaluate(
        """() => fetch('/chat/feedback', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({rating: 'up', question: 'q', answer: 'a'})}).then(r => r.status)"""
    )
    assert status == 403


def test_the_chat_page_is_within_the_weight_budget_before_pdfjs(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/chat")
    weight = page_weight(page, "/chat")
    print(f"\n/chat weighs {weight.total / 1000:.1f} KB gzip: {weight.files}")
    assert weight.total <= PAGE_BUDGET
    assert not any("pdfjs" in url for url in weight.files)  # pdf.js loads only when a PDF citation opens
