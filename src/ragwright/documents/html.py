"""HTML: the page's main content, without navigation, headers, footers, scripts or cookie banners.

trafilatura (imported lazily) finds the main content and renders it as Markdown, headings included; the sections and
heading paths then come from :func:`ragwright.documents.markdown.parse_markdown`, so an HTML page and a Markdown file
with the same structure chunk the same way. When trafilatura finds nothing (very short pages, unusual markup), a small
standard-library extractor keeps the visible text outside boilerplate elements.
"""

from __future__ import annotations

from html.parser import HTMLParser

from ragwright.documents.markdown import parse_markdown
from ragwright.documents.text import Extracted, decode_text

__all__ = ["extract_main_markdown", "load_html"]

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe", "button"}
)
_BOILERPLATE_HINTS = ("cookie", "consent", "gdpr", "banner", "navbar", "breadcrumb", "sidebar", "footer", "menu")
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "br", "li", "tr", "table", "ul", "ol", "pre", "blockquote", "dd", "dt"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LOWER = "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_PRUNE_XPATH = [
    "//nav",
    "//aside",
    "//header[not(ancestor::article or ancestor::main)]",  # an article's own <header> holds its title
    "//footer[not(ancestor::article or ancestor::main)]",
    "//*[@role='navigation' or @role='banner' or @role='contentinfo']",
    *(
        f"//*[contains({_LOWER.format('@id')}, '{hint}') or contains({_LOWER.format('@class')}, '{hint}')]"
        for hint in ("cookie", "consent", "gdpr")
    ),
]
"""Removed before trafilatura looks at the page: its fallback for short pages would otherwise keep them."""
_VOID_TAGS = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"})


class _FallbackExtractor(HTMLParser):
    """Visible text outside boilerplate; headings become ATX lines so parse_markdown can section them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self._in_title = False
        self._skip_depth = 0
        self._stack: list[tuple[str, bool]] = []  # (tag, opened a skipped region)
        self._parts: list[str] = []

    def _is_boilerplate(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIP_TAGS:
            return True
        attr = {k: (v or "").lower() for k, v in attrs}
        if attr.get("aria-hidden") == "true" or "hidden" in attr or attr.get("role") in {"navigation", "banner"}:
            return True
        marker = f"{attr.get('id', '')} {attr.get('class', '')}"
        return any(hint in marker for hint in _BOILERPLATE_HINTS)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if tag in _VOID_TAGS:
            if tag == "br" and not self._skip_depth:
                self._parts.append("\n")
            return
        skipped = self._is_boilerplate(tag, attrs)
        self._stack.append((tag, skipped))
        if skipped:
            self._skip_depth += 1
        elif not self._skip_depth:
            if tag in _HEADINGS:
                self._parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
            elif tag in _BLOCK_TAGS:
                self._parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        # Pop to the matching open tag, tolerating unclosed children (<p> without </p> and the like).
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                for _, skipped in self._stack[i:]:
                    self._skip_depth -= skipped
                del self._stack[i:]
                break
        if not self._skip_depth and (tag in _HEADINGS or tag in _BLOCK_TAGS):
            self._parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = ((self.title or "") + " " + data).strip() or None
        elif not self._skip_depth:
            self._parts.append(" ".join(data.split()) + (" " if data[-1:].isspace() else ""))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self._parts).split("\n")]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


def _page_title(html: str) -> str | None:
    parser = _FallbackExtractor()
    parser.feed(html)
    parser.close()
    return parser.title


def extract_main_markdown(html: str) -> str:
    """The page's main content as Markdown ('' when there is none): trafilatura first, then the fallback."""
    import trafilatura  # lazy: pulls in lxml, justext, htmldate

    markdown = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        favor_recall=True,
        deduplicate=False,
        prune_xpath=_PRUNE_XPATH,
    )
    if markdown and markdown.strip():
        return markdown.strip()
    parser = _FallbackExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def load_html(data: bytes, source: str) -> Extracted:
    """``.html``: main content with heading paths; the title is ``<title>``, else the first heading."""
    html = decode_text(data, source)
    text = extract_main_markdown(html)
    parsed = parse_markdown(text)
    title = _page_title(html) or parsed.title
    return Extracted(text=text, sections=parsed.sections, title=title)
