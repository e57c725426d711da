"""A Markdown original rendered to HTML with a cited span marked, for the citation viewer.

The span's ranges (offsets into the decoded file, from the document's source map: ADR 0005) are wrapped in two
private-use characters before rendering, split at line ends so that each marked piece stays inside one block; the
file is rendered as CommonMark (raw HTML escaped, images dropped: a document never runs code or loads anything in the
viewer) and the markers become ``<mark class="source-mark">``. Headings are moved down three levels so the document's
``#`` sits under the viewer's own headings, and code blocks take the keyboard focus (they may scroll). Front matter
is not shown.

Rendering an untrusted file is parsing it, so the servers do it in a child process under the parse limits
(:func:`markdown_marks` through :mod:`ragwright.documents.isolated`), like a PDF's highlight.

Example::

    html = render_marked("# Guide\\n\\nThe first boot takes four minutes.\\n", [(9, 42)])
    # '<h4>Guide</h4>\\n<p><mark class="source-mark">The first boot takes four minutes.</mark></p>\\n'
"""

from __future__ import annotations

import re
from typing import Any

from ragwright.documents.isolated import run_isolated, serve_one
from ragwright.ingest.limits import ParseLimits

__all__ = ["markdown_marks", "render_marked"]

_OPEN, _CLOSE = "\ue000", "\ue001"
_HEADING = re.compile(r"<(/?)h([1-6])>")


def _demote(match: re.Match[str]) -> str:
    return f"<{match.group(1)}h{min(6, int(match.group(2)) + 3)}>"


def render_marked(text: str, marks: list[tuple[int, int]]) -> str:
    """``text`` (a decoded Markdown file) as HTML with ``marks`` (``[start, end)`` offsets into it) highlighted."""
    from markdown_it import MarkdownIt

    from ragwright.documents.markdown import split_front_matter

    text = text.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
    inserts: list[tuple[int, str]] = []
    for start, end in sorted(marks):
        pos = max(0, start)
        while pos < min(end, len(text)):
            nl = text.find("\n", pos, end)
            stop = end if nl < 0 else nl
            if stop > pos:
                inserts += [(pos, _OPEN), (stop, _CLOSE)]
            pos = stop + 1
    out: list[str] = []
    last = 0
    for at, mark in sorted(inserts, key=lambda x: (x[0], x[1] == _OPEN)):  # a close before an open at one offset
        out.append(text[last:at])
        out.append(mark)
        last = at
    out.append(text[last:])
    body, _ = split_front_matter("".join(out))
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("image")
    html = md.render(body)
    html = html.replace(_OPEN, '<mark class="source-mark">').replace(_CLOSE, "</mark>")
    html = html.replace("<pre>", '<pre tabindex="0">')  # a code block that scrolls must be reachable by keyboard
    return _HEADING.sub(_demote, html)


def _work(data: bytes, header: dict[str, Any]) -> dict[str, Any]:
    return {"html": render_marked(data.decode("utf-8", "replace"), [(int(s), int(e)) for s, e in header["marks"]])}


def main() -> None:
    """The child process (:func:`~ragwright.documents.isolated.serve_one`)."""
    serve_one("cited Markdown file", _work)


def markdown_marks(text: bytes, marks: list[tuple[int, int]], limits: ParseLimits) -> str:
    """:func:`render_marked` of a stored decoded Markdown file, in a child process under ``limits`` (blocking)."""
    out = run_isolated("ragwright.documents.markdown_marks", "cited Markdown file", {"marks": marks}, text, limits)
    return str(out["html"])


if __name__ == "__main__":
    main()
