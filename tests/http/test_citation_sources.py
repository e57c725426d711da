"""A citation opened in its original (``GET /v1/citations/source`` and ``/original``) and ratings of answers
(``POST /v1/feedback`` → ``ragwright eval import feedback``), against a real server on SQLite and PostgreSQL.

The sample corpus's PDF and Markdown files are uploaded; an answer's citations are located: the PDF span comes back
as its page and PDFium rectangles whose text is the quoted sentence, the Markdown span as ranges of the decoded file
whose text is the sentence (modulo the markup the loader removed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ragwright.evals.dataset import load_cases
from ragwright.interfaces.cli.evals import eval_app
from tests.http.conftest import Server, both_backends

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-docs"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _answer(server: Server, key: str, question: str, **extra: Any) -> dict[str, Any]:
    with server.client(key) as c:
        r = c.post("/v1/answer", json={"question": question, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _source(server: Server, key: str, cite: dict[str, Any]) -> Any:
    params = {
        "doc_id": cite["doc_id"],
        "chunk_id": cite["chunk_id"],
        "start": cite["char_start"],
        "end": cite["char_end"],
    }
    with server.client(key) as c:
        return c.get("/v1/citations/source", params=params)


def _upload_samples(server: Server, key: str, *names: str) -> None:
    job = server.upload(key, {n: (SAMPLE / n).read_bytes() for n in names})
    assert job["status"] == "succeeded" and not job["result"]["failures"], job


@both_backends
def test_a_pdf_citation_opens_at_its_page_with_the_quoted_sentence_highlighted(server: Server) -> None:
    key = server.key()
    _upload_samples(server, key, "warranty-and-service.pdf", "getting-started.md")
    answer = _answer(server, key, "When does the warranty period start?")
    cite = next(c for c in answer["citations"] if c["doc_id"].endswith(".pdf"))
    r = _source(server, key, cite)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["kind"] == "pdf" and view["page"] == cite["page"] and view["page"] >= 1
    assert _words(view["highlighted"]) == _words(cite["snippet"])  # PDFium's text of the rectangles
    assert view["rects"] and all(r["page"] == view["page"] and r["right"] > r["left"] for r in view["rects"])
    width, height = view["page_sizes"][str(view["page"])]
    assert all(0 <= r["bottom"] < r["top"] <= height and r["right"] <= width for r in view["rects"])
    with server.client(key) as c:
        pdf = c.get(view["original_url"])
    assert pdf.status_code == 200 and pdf.content == (SAMPLE / "warranty-and-service.pdf").read_bytes()
    assert pdf.headers["content-type"] == "application/pdf" and "sandbox" in pdf.headers["content-security-policy"]


@both_backends
def test_a_markdown_citation_marks_the_sentence_in_the_decoded_file(server: Server) -> None:
    key = server.key()
    _upload_samples(server, key, "getting-started.md", "troubleshooting.md")
    answer = _answer(server, key, "How long does the first boot take?")
    cite = next(c for c in answer["citations"] if c["doc_id"].endswith(".md"))
    view = _source(server, key, cite).json()
    source = (SAMPLE / cite["doc_id"]).read_text(encoding="utf-8")
    assert view["kind"] == "text" and view["text"] == source and view["original_url"] is None
    marked = " ".join(source[m["start"] : m["end"]] for m in view["marks"])
    assert _words(marked) == _words(cite["snippet"]) and view["highlighted"] == marked
    rendered = re.findall(r'<mark class="source-mark">(.*?)</mark>', view["html"], re.S)  # the file, rendered
    assert _words(" ".join(rendered)) == _words(cite["snippet"]) and "<h4>" in view["html"]


def test_an_html_citation_is_rendered_without_anything_that_runs_and_the_span_marked(server: Server) -> None:
    key = server.key()
    _upload_samples(server, key, "pricing.html")
    answer = _answer(server, key, "How much does the Quillfin Vault Q2 cost?")
    cite = next(c for c in answer["citations"] if c["doc_id"] == "pricing.html")
    view = _source(server, key, cite).json()
    assert view["kind"] == "text" and view["text"] == (SAMPLE / "pricing.html").read_text(encoding="utf-8")
    rendered = re.findall(r'<mark class="source-mark">(.*?)</mark>', view["html"], re.S)
    assert _words(" ".join(rendered)) == _words(cite["snippet"])
    assert "<h4>Quillfin Vault pricing</h4>" in view["html"]  # <main>'s h1, moved under the viewer's headings
    for unsafe in ("<script", "analytics", "cookie", "<link", "style=", "onclick", "<button"):
        assert unsafe not in view["html"].lower(), unsafe  # head, scripts, banners outside <main>, attributes: gone


@both_backends
def test_spans_outside_the_passage_and_other_keys_documents_are_refused(server: Server) -> None:
    key = server.key()
    _upload_samples(server, key, "getting-started.md")
    cite = _answer(server, key, "How long does the first boot take?")["citations"][0]
    assert _source(server, key, {**cite, "char_end": cite["char_end"] + 100_000}).status_code == 400
    assert _source(server, key, {**cite, "doc_id": "troubleshooting.md"}).status_code == 404  # not its chunk
    assert _source(server, server.key(tenant="other"), cite).status_code == 404
    assert _source(server, server.key(tags=("hr",)), cite).status_code == 404  # tag-limited: untagged doc unseen
    with server.client(server.key(tenant="other")) as c:
        assert c.get("/v1/citations/original", params={"doc_id": cite["doc_id"]}).status_code == 404


@both_backends
def test_ratings_are_stored_per_tenant_and_exported_as_cases(server: Server, tmp_path: Path) -> None:
    key = server.key()
    _upload_samples(server, key, "getting-started.md")
    first = _answer(server, key, "How long does the first boot take?")
    follow = _answer(
        server,
        key,
        "And when does the status light turn green?",
        history=[{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["text"]}],
    )
    assert follow["answerability"] is not None and 0.0 <= follow["answerability"] <= 1.0
    with server.client(key) as c:
        up = c.post(
            "/v1/feedback",
            json={
                "rating": "up",
                "question": first["question"],
                "answer": first["text"],
                "cited_docs": [x["doc_id"] for x in first["citations"]],
                "answerability": first["answerability"],
            },
        )
        down = c.post(
            "/v1/feedback",
            json={
                "rating": "down",
                "comment": "misses the CLI",
                "question": follow["question"],
                "answer": follow["text"],
                "history": [{"role": "user", "content": first["question"]}],
            },
        )
        bad = c.post("/v1/feedback", json={"rating": "sideways", "question": "q", "answer": "a"})
    assert up.status_code == 201 and down.status_code == 201, (up.text, down.text)
    assert bad.status_code == 422
    with server.client(server.key(tenant="other")) as c:
        c.post("/v1/feedback", json={"rating": "up", "question": "other q", "answer": "a"}).raise_for_status()
    out = tmp_path / "fb.jsonl"
    config = tmp_path / "ragwright.toml"
    config.write_text(f'data_dir = "{server.settings.data_dir}"\nstore = "{server.settings.store}"\n')
    result = CliRunner().invoke(eval_app, ["import", "feedback", "--out", str(out), "--tenant", "acme",
                                      "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    cases = load_cases(out)
    assert [c.question for c in cases] == [first["question"], follow["question"]]
    good, review = cases
    assert good.reference_answer and "[1]" not in good.reference_answer and good.relevant == {"getting-started.md": 1}
    assert "feedback:up" in good.tags and review.reference_answer is None and "needs-review" in review.tags
    assert review.note == "misses the CLI" and [t.content for t in review.history] == [first["question"]]
    assert all(json.loads(line)["id"].startswith("fb-") for line in out.read_text().splitlines())


def test_the_stream_done_event_carries_what_the_chat_page_shows(server: Server) -> None:
    key = server.key()
    _upload_samples(server, key, "getting-started.md")
    with server.client(key) as c:
        r = c.post("/v1/answer", json={"question": "How long does the first boot take?", "stream": True})
    events = [
        (e.split("\n")[0].removeprefix("event: "), json.loads(e.split("data: ", 1)[1]))
        for e in r.text.strip().split("\n\n")
    ]
    assert [name for name, _ in events][-1] == "done" and events[0][0] == "delta"
    done = events[-1][1]
    assert set(done) >= {"answerability", "prompt", "model", "support", "closest", "rewritten_question", "trace_id"}
    assert done["answerability"] is not None
