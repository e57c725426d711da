"""The Documents page in a real browser: upload (file input and drag and drop) with per-file progress and failure
reasons, the ingest job followed until it finishes, the list with search and filters, a document's chunks and tags,
and delete behind a confirmation dialog; axe on the populated page and dialog; screenshots at 375 and 1440 px."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import PAGE_BUDGET, UiServer, assert_accessible, login, page_weight, screenshots

GOOD = (
    b"# Heron field guide\n\n## Nesting\n\nHerons nest in colonies called heronries.\n\n"
    b"## Feeding\n\nThey wade slowly.\n"
)


def _item(page: Any, name: str) -> Any:
    return page.locator(f'.upload-item[data-file="{name}"]')


def test_upload_watch_the_job_open_chunks_edit_tags_and_delete(page: Any, ui: UiServer, tmp_path: Any) -> None:
    stem = f"heron-{uuid.uuid4().hex[:8]}"
    good, bad = tmp_path / f"{stem}.md", tmp_path / f"{stem}.xyz"
    good.write_bytes(GOOD)
    bad.write_bytes(b"\x00\x01 not a document")
    login(page, ui.keys["writer"], "/documents")
    page.get_by_role("heading", name="Documents", level=1).wait_for()
    page.get_by_label("Tags for these files").fill("birds")
    page.get_by_label("Files to upload").set_input_files([str(good), str(bad)])

    expect(_item(page, good.name)).to_have_attribute("data-state", "done", timeout=60_000)
    expect(_item(page, good.name).locator(".upload-status")).to_contain_text("Ingested (added)")
    expect(_item(page, bad.name)).to_have_attribute("data-state", "failed", timeout=60_000)
    expect(_item(page, bad.name).locator(".upload-status")).to_contain_text("Failed:")  # with the reason
    link = page.locator("#doc-list").get_by_role("link", name=good.name)
    expect(link).to_be_visible()  # the list was refreshed when the uploads settled
    assert_accessible(page, "documents, after an upload")
    screenshots(page, "documents-upload")

    page.get_by_label("Search by name or title").fill(stem)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**q=heron-*")
    rows = page.locator("#doc-list tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_label("Type").select_option("pdf")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No document matches these filters.")).to_be_visible()

    page.goto("/documents?tag=birds")
    page.locator("#doc-list").get_by_role("link", name=good.name).click()
    page.get_by_role("heading", name=good.name, level=1).wait_for()
    expect(page.get_by_role("heading", name="How it was split", exact=False)).to_be_visible()
    expect(page.locator(".chunk").first).to_contain_text("Herons nest in colonies")
    expect(page.locator(".chunk-heading").first).to_contain_text("Heron field guide")
    assert_accessible(page, "a document's chunks")
    screenshots(page, "documents-chunks")
    page.get_by_label("Tags", exact=True).fill("birds, field-guide")
    page.get_by_role("button", name="Save tags").click()
    expect(page.locator(".facts")).to_contain_text("field-guide")
    page.get_by_label("Tags", exact=True).fill("no spaces allowed")
    page.get_by_role("button", name="Save tags").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid tag")

    page.goto(f"/documents?q={stem}")
    page.get_by_role("button", name=f"Delete {good.name}").click()
    dialog = page.get_by_role("dialog", name="Delete this document?")
    expect(dialog).to_be_visible()
    assert_accessible(page, "the delete dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name=f"Delete {good.name}").click()
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url("**deleted=*")
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_contain_text(good.name)
    expect(page.locator("#doc-list").get_by_role("link", name=good.name)).to_have_count(0)


def test_drag_and_drop_upload_and_the_populated_list(page: Any, ui: UiServer) -> None:
    name = f"dropped-{uuid.uuid4().hex[:8]}.md"
    login(page, ui.keys["writer"], "/documents")
    transfer = page.evaluate_handle(
        """(name) => { const dt = new DataTransfer();
            dt.items.add(new File(['# Dropped\\n\\nA dropped note about kettles.\\n'], name, {type: 'text/markdown'}));
            return dt; }""",
        name,
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    expect(_item(page, name)).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#doc-list").get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("#doc-list tbody tr")).not_to_have_count(0)
    assert_accessible(page, "the documents list")
    screenshots(page, "documents-list")
    page.goto(f"/documents?q={name}")
    page.get_by_role("button", name=f"Delete {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.wait_for_url("**deleted=*")
    weight = page_weight(page, "/documents")
    print(f"documents page weight: {weight.total} bytes gzip")
    assert weight.total <= PAGE_BUDGET


def test_a_reader_sees_the_list_without_upload_or_delete(page: Any, ui: UiServer) -> None:
    login(page, ui.keys["reader"], "/documents")
    page.get_by_role("heading", name="Documents", level=1).wait_for()
    expect(page.locator("#doc-list tbody tr").first).to_be_visible()  # the sample corpus
    expect(page.get_by_label("Files to upload")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete", exact=False)).to_have_count(0)


def test_a_tag_limited_key_sees_and_opens_only_its_documents(page: Any, ui: UiServer) -> None:
    login(page, ui.new_key(("read", "write"), tags=("security",), name="security-team"), "/documents")
    links = page.locator("#doc-list tbody tr td:first-child a")
    expect(links).to_have_count(1)
    expect(links.first).to_contain_text("security-policy.md")
    href = links.first.get_attribute("href")
    assert page.request.get(href).status == 200
    assert page.request.get(href.replace("security-policy.md", "troubleshooting.md")).status == 404  # not its tag
    page.goto("/documents?tag=support")  # a tag outside the key narrows to nothing, never widens
    expect(page.get_by_text("No document matches these filters.")).to_be_visible()


def test_a_file_over_the_json_body_limit_is_uploaded_under_the_upload_limit(
    page: Any, ui: UiServer, tmp_path: Any
) -> None:
    big = tmp_path / f"big-{uuid.uuid4().hex[:8]}.xyz"  # 1.5 MB: over [service] max_body_mb (1), under max_upload_mb
    big.write_bytes(b"x" * 1_500_000)
    login(page, ui.keys["writer"], "/documents")
    page.get_by_label("Files to upload").set_input_files(str(big))
    expect(_item(page, big.name)).to_have_attribute("data-state", "failed", timeout=60_000)
    expect(_item(page, big.name).locator(".upload-status")).to_contain_text("unsupported file type")  # the worker's
