"""What the citation viewer gets from an original, computed in a child process under the parse limits: Markdown and
HTML rendered with the span marked and nothing that can run, a PDF's rectangles, and typed errors for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragwright.documents import html_marks, markdown_marks
from ragwright.documents.model import SourceSpan
from ragwright.documents.pdf_marks import pdf_marks
from ragwright.errors import CorruptFileError
from ragwright.ingest.limits import ParseLimits

LIMITS = ParseLimits(memory_bytes=1 << 30, cpu_seconds=20, wall_seconds=60.0)
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-docs"


def _marked(html: str) -> str:
    return " ".join(re.findall(r'<mark class="source-mark">(.*?)</mark>', html, re.S))


def test_markdown_marks_follow_lines_escape_raw_html_and_drop_images() -> None:
    text = "---\ntitle: T\n---\n# Guide\n\nThe **first boot** takes\nfour minutes. <script>x()</script> ![i](http://e/i.png)\n"
    start, end = text.index("The"), text.index("minutes.") + len("minutes.")
    html = markdown_marks.render_marked(text, [(start, end)])
    assert _marked(html) == "The <strong>first boot</strong> takes four minutes."  # one mark per line
    assert "<script" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert "<h4>Guide</h4>" in html and "title: T" not in html  # headings demoted, front matter hidden
    assert html.count("<mark") == html.count("</mark>")


def test_private_use_markers_in_the_file_itself_cannot_forge_a_mark() -> None:
    text = "Plain \ue000forged\ue001 words and the cited sentence."
    start = text.index("the cited")
    for render in (markdown_marks.render_marked, html_marks.render_marked):
        html = render(text, [(start, len(text))])
        assert "forged" not in _marked(html) and "the cited sentence." in _marked(html)


def test_html_marks_nest_around_tags_and_keep_nothing_that_runs() -> None:
    page = (
        "<html><head><script>alert(1)</script><style>p{}</style></head><body><nav>menu</nav><main>"
        '<h1 onclick="x()">Plans</h1><p style="color:red">Q2 costs <b>349</b> dollars.</p>'
        '<a href="javascript:alert(1)">bad</a><a href=" https://example.com/">ok</a><a href="/local">rel</a>'
        "<img src=http://e/x.png><form><input value=1><button>Go</button></form><pre>code</pre></main></body></html>"
    )
    start, end = page.index("Q2"), page.index("dollars.") + len("dollars.")
    html = html_marks.render_marked(page, [(start, end)])
    assert re.sub(r"<[^>]+>", "", _marked(html)).split() == ["Q2", "costs", "349", "dollars."]
    assert '<b><mark class="source-mark">349</mark></b>' in html  # closed and reopened around the tag
    for gone in ("script", "alert", "style", "menu", "onclick", "<img", "<form", "<input", "Go", "/local"):
        assert gone not in html, gone
    assert '<a href=" https://example.com/">ok</a>' in html and "<h4>Plans</h4>" in html
    assert '<pre tabindex="0">code</pre>' in html


def test_the_child_processes_answer_and_fail_with_a_typed_error() -> None:
    text = (SAMPLE / "getting-started.md").read_bytes()
    at = text.decode().index("The first boot")
    assert "first boot takes" in _marked(markdown_marks.markdown_marks(text, [(at, at + 40)], LIMITS))
    pdf = (SAMPLE / "warranty-and-service.pdf").read_bytes()
    marks = pdf_marks(pdf, (SourceSpan(1, 0, 30),), LIMITS)
    assert marks.rects and marks.text and 1 in marks.sizes
    with pytest.raises(CorruptFileError):
        pdf_marks(b"%PDF-1.7 this is not a pdf", (SourceSpan(1, 0, 30),), LIMITS)
