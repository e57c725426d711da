"""An HTML original rendered for the citation viewer: its readable structure, nothing that runs, the span marked.

The page is re-emitted through an allow-list: headings (moved down three levels), paragraphs, lists, tables, code,
quotes and inline emphasis are kept, links keep an absolute ``http``/``https``/``mailto`` ``href`` and nothing else;
every other attribute is dropped, and ``script``, ``style``, ``head``, forms, media and embedded content are dropped
with their content, so the result can neither run code nor load anything. When the page has a ``<main>``, only it
is shown (the loader indexes only it, too). Text is escaped.

The cited span's ranges (offsets into the decoded page, from the source map: ADR 0005) are marked with two
private-use characters before parsing; text between them is wrapped in ``<mark class="source-mark">`` piece by piece,
closed and reopened around tags, so the marks always nest correctly.

Like the other viewers of untrusted files, the servers run it in a child process under the parse limits
(:func:`html_marks`, :mod:`ragwright.documents.isolated`).

Example::

    render_marked('<main><h1>Plans</h1><p>Q2 costs <b>349</b> dollars.</p></main>', [(27, 52)])
    # '<h4>Plans</h4><p><mark class="source-mark">Q2 costs </mark><b><mark ...>349</mark></b>...'
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from ragwright.documents.isolated import run_isolated, serve_one
from ragwright.ingest.limits import ParseLimits

__all__ = ["html_marks", "render_marked"]

_OPEN, _CLOSE = "\ue000", "\ue001"
_KEEP = frozenset(
    "p h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead tbody tfoot tr th td caption pre code kbd samp blockquote "
    "em strong b i u s sub sup small mark br hr a span div section article figure figcaption".split()
)
_DROP = frozenset(
    "script style head title template noscript svg math iframe object embed frame frameset form input select "
    "textarea button img picture video audio canvas source track map".split()
)
_VOID = frozenset("br hr img input source track area col embed meta link param wbr".split())
_SAFE_HREF = re.compile(r"^(?:https?:|mailto:)", re.IGNORECASE)
_MAIN = re.compile(r"<main[\s>]", re.IGNORECASE)


class _Renderer(HTMLParser):
    """Re-emits allowed elements and escaped text; tracks whether the text is inside the cited span."""

    def __init__(self, only_main: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.main_depth = 0 if only_main else 1
        self.marking = False

    def _shown(self) -> bool:
        return self.dropping == 0 and self.main_depth > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.main_depth += 1
        if tag in _DROP:
            if tag not in _VOID:
                self.dropping += 1
            return
        if not self._shown() or tag not in _KEEP:
            return
        name = _demoted(tag)
        href = dict(attrs).get("href") if tag == "a" else None
        extra = f' href="{html.escape(href, quote=True)}"' if href and _SAFE_HREF.match(href.strip()) else ""
        if tag == "pre":
            extra = ' tabindex="0"'  # a block that may scroll is reachable by keyboard
        self.out.append(f"<{name}{extra}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID and tag not in _DROP and self._shown() and tag in _KEEP:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            if tag not in _VOID:
                self.dropping = max(0, self.dropping - 1)
            return
        if tag == "main":
            self.main_depth = max(0, self.main_depth - 1)
        if self._shown() and tag in _KEEP and tag not in _VOID:
            self.out.append(f"</{_demoted(tag)}>")

    def handle_data(self, data: str) -> None:
        for piece in re.split(f"([{_OPEN}{_CLOSE}])", data):
            if piece == _OPEN:
                self.marking = True
            elif piece == _CLOSE:
                self.marking = False
            elif piece and self._shown():
                text = html.escape(piece, quote=False)
                self.out.append(f'<mark class="source-mark">{text}</mark>' if self.marking and piece.strip() else text)


def _demoted(tag: str) -> str:
    if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
        return f"h{min(6, int(tag[1]) + 3)}"
    return tag


def render_marked(page: str, marks: list[tuple[int, int]]) -> str:
    """``page`` (a decoded HTML file) re-emitted through the allow-list with ``marks`` (offsets into it) marked."""
    page = page.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
    inserts = sorted(
        [(s, _OPEN) for s, e in marks if 0 <= s < e] + [(e, _CLOSE) for s, e in marks if 0 <= s < e],
        key=lambda x: (x[0], x[1] == _OPEN),
    )
    parts: list[str] = []
    last = 0
    for at, mark in inserts:
        parts.append(page[last:at])
        parts.append(mark)
        last = at
    parts.append(page[last:])
    renderer = _Renderer(only_main=bool(_MAIN.search(page)))
    renderer.feed("".join(parts))
    renderer.close()
    return "".join(renderer.out)


def _work(data: bytes, header: dict[str, Any]) -> dict[str, Any]:
    return {"html": render_marked(data.decode("utf-8", "replace"), [(int(s), int(e)) for s, e in header["marks"]])}


def main() -> None:
    """The child process (:func:`~ragwright.documents.isolated.serve_one`)."""
    serve_one("cited HTML file", _work)


def html_marks(page: bytes, marks: list[tuple[int, int]], limits: ParseLimits) -> str:
    """:func:`render_marked` of a stored decoded HTML file, in a child process under ``limits`` (blocking)."""
    out = run_isolated("ragwright.documents.html_marks", "cited HTML file", {"marks": marks}, page, limits)
    return str(out["html"])


if __name__ == "__main__":
    main()
