"""HTML: the page's visible main content as faithful text, sectioned by its headings.

The page is decoded with its declared encoding (BOM, then ``<meta charset>`` / ``http-equiv`` in the first 4 KB, then
the UTF-8 / cp1252 rules of :func:`~ragwright.documents.text.decode_text`) and read with the standard library's
tokenizer, one pass, every character keeping its offset in the decoded page (the document's
:class:`~ragwright.documents.model.SourceMap`). What comes out:

* ``<h1>``-``<h6>`` open sections: their text goes into ``heading_path``, as with DOCX, never into a paragraph;
* ``<pre>`` is a fenced code block, its lines verbatim: nothing in it becomes a heading, nothing is escaped or bolded;
* a table is one line per row, cells joined by `` | ``; list items start with ``- ``; whitespace elsewhere collapses;
* when the page has ``<main>``, ``role="main"`` or ``<article>``, only their content is kept; ``nav``, ``aside``,
  page-level ``header``/``footer``, cookie/consent banners, scripts, styles, forms and iframes never are;
* hidden content is dropped: the ``hidden`` attribute, ``aria-hidden="true"``, inline ``display:none``,
  ``visibility:hidden``, ``font-size:0`` or ``opacity:0``, classes and ids that the page's own ``<style>`` hides that
  way, the ``hidden``/``d-none``/``invisible`` utility classes, HTML comments, and invisible characters
  (:func:`~ragwright.documents.normalize.clean_text`, zero-width ones included).

trafilatura was used before; its Markdown rendering turned ``<pre>`` without ``<code>`` into escaped paragraphs
(``in\\[CHUNK\\]``) and let ``#  define`` lines become headings, and it offers no source offsets.
"""

from __future__ import annotations

import codecs
import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from ragwright.documents.normalize import MappedText, clean_text
from ragwright.documents.text import Extracted, TextBuilder, decode_text

__all__ = ["declared_encoding", "html_fragment_text", "load_html"]

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "aside", "form", "svg", "iframe", "button", "select", "object"}
)
_PAGE_CHROME = frozenset({"header", "footer"})
"""Skipped unless inside <article>/<main>: an article's own header holds its title."""
_BOILERPLATE_HINTS = ("cookie", "consent", "gdpr", "banner", "navbar", "breadcrumb", "sidebar", "footer", "menu")
_HIDING_CLASSES = frozenset({"hidden", "d-none", "invisible"})
_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?:\.0*)?(?:[a-z%]+)?\s*(?:;|$|!)"
    r"|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$|!)",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "ul", "ol", "dl", "dd", "dt", "blockquote", "figure",
        "figcaption", "table", "tr", "address", "details", "summary", "hr", "center",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_VOID_TAGS = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"})
_MAIN_TAGS = frozenset({"main", "article"})
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^[a-z0-9]*([.#])([\w-]+)$", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)|^\s*<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.IGNORECASE
)
_SNIFF = 4096
_PERMALINK_MARKS = " \t\n¶§#🔗"
_WHITESPACE = re.compile(r"[ \t\n\r\f\xa0]+")


def declared_encoding(data: bytes) -> str | None:
    """The codec a page declares (BOM first, then ``<meta charset>`` or an XML declaration in its first 4 KB).

    ``iso-8859-1``/``latin1``/``ascii`` mean windows-1252, as browsers read them (the WHATWG encoding standard).
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    match = _META_CHARSET.search(data[:_SNIFF])
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace").lower()
    if label in {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "windows-1252"}:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _css_hidden(page: str) -> tuple[frozenset[str], frozenset[str]]:
    """Classes and ids the page's own stylesheets hide (simple ``.x`` / ``#y`` / ``div.x`` selectors only)."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in _STYLE_BLOCK.findall(page):
        for selectors, declarations in _CSS_RULE.findall(style):
            if not _HIDING_STYLE.search(declarations):
                continue
            for selector in selectors.split(","):
                match = _SIMPLE_SELECTOR.match(selector.strip())
                if match:
                    (classes if match.group(1) == "." else ids).add(match.group(2).lower())
    return frozenset(classes), frozenset(ids)


@dataclass(slots=True)
class _Block:
    kind: str  # "text" | "heading" | "code"
    text: MappedText
    in_main: bool
    level: int = 0


@dataclass(slots=True)
class _Open:
    tag: str
    skipped: bool
    main: bool
    item: bool = False  # a visible <li>, counted in _Extractor._items


class _Extractor(HTMLParser):
    """One pass over the page: blocks of visible text, each piece with its offset in the page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=False)
        self.page = page
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", page)]
        self.hidden_classes, self.hidden_ids = _css_hidden(page)
        self.title: str | None = None
        self.blocks: list[_Block] = []
        self._stack: list[_Open] = []
        self._skip = 0
        self._main = 0
        self._pre = 0
        self._in_title = False
        self._heading = 0
        self._cells = 0  # cells seen in the current table row
        self._items = 0  # open list items
        self._item_start = False
        self._buffer = MappedText()
        self._space: tuple[int, int] | None = None  # a collapsed whitespace run, emitted before the next word

    # -- positions -------------------------------------------------------------------------------------------
    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    # -- classification --------------------------------------------------------------------------------------
    def _hidden(self, tag: str, attrs: dict[str, str]) -> bool:
        if tag in _SKIP_TAGS or (tag in _PAGE_CHROME and not self._main):
            return True
        if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true":
            return True
        if tag == "input" or attrs.get("role", "").lower() in {"navigation", "banner", "contentinfo"}:
            return True
        if _HIDING_STYLE.search(attrs.get("style", "")):
            return True
        classes = set(attrs.get("class", "").lower().split())
        ident = attrs.get("id", "").lower()
        if classes & (_HIDING_CLASSES | self.hidden_classes) or (ident and ident in self.hidden_ids):
            return True
        marker = f"{ident} {' '.join(classes)}"
        return any(hint in marker for hint in _BOILERPLATE_HINTS)

    # -- blocks ----------------------------------------------------------------------------------------------
    def _flush(self, kind: str = "text", level: int = 0) -> None:
        block = self._buffer.strip()
        self._buffer = MappedText()
        self._space = None
        self._item_start = False
        if block.text:
            self.blocks.append(_Block(kind, block, self._main > 0, level))

    def _break(self, separator: str) -> None:
        """A line break inside the current block (table rows, <br>); a pending space is dropped."""
        self._space = None
        if self._buffer.last not in ("", "\n") and not self._item_start:
            self._buffer.append(separator)

    def _emit(self, text: str, src_start: int, src_end: int | None = None) -> None:
        """Visible text (cleaned), preceded by the pending collapsed space if there is one."""
        if not text:
            return
        if self._space is not None and self._buffer.last not in ("", " ", "\n"):
            self._buffer.append(" ", *self._space)
        self._space = None
        self._item_start = False
        if src_end is None:
            self._buffer.append_clean(text, src_start)
        else:
            self._buffer.append(clean_text(text), src_start, src_end)

    def _whitespace(self, src_start: int, src_end: int) -> None:
        if self._space is None and self._buffer.last not in ("", " ", "\n"):
            self._space = (src_start, src_end)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._skip:
            self._in_title = True
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        hidden = self._hidden(tag, values)
        if tag in _VOID_TAGS:
            if not self._skip and not hidden:
                if tag == "br" and self._pre:
                    self._buffer.append("\n")
                elif tag == "br":
                    offset = self._offset()
                    self._whitespace(offset, offset) if self._cells else self._break("\n")
                elif tag == "hr" and not self._pre:
                    self._flush()
            return
        is_main = tag in _MAIN_TAGS or values.get("role", "").lower() == "main"
        self._stack.append(_Open(tag, hidden, is_main, tag == "li" and not (self._skip or hidden or self._pre)))
        self._skip += hidden
        self._main += is_main
        if self._skip:
            return
        self._open_block(tag)

    def _open_block(self, tag: str) -> None:
        if tag in _HEADINGS and not self._pre:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag == "pre":
            if not self._pre:
                self._flush()
            self._pre += 1
        elif tag == "table" and not self._pre:
            self._flush()
        elif tag == "tr":
            self._break("\n")
            self._cells = 0
        elif tag in {"td", "th"}:
            if self._cells:
                self._space = None
                self._buffer.append(" | ")
            self._cells += 1
        elif tag == "li" and not self._pre:
            self._break("\n")
            self._buffer.append("- ")
            self._item_start = True  # until the item's first word: a <p> right after "- " adds no line
            self._items += 1  # counted down when the <li> closes (_Open.item)
        elif tag in _BLOCK_TAGS and not self._pre and not self._cells:
            if self._items:
                self._break("\n")  # a <p> or a nested list inside a list item: a new line, not a new block
            else:
                self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        for i in range(len(self._stack) - 1, -1, -1):  # pop to the matching tag: unclosed <p>, <li> and the like
            if self._stack[i].tag == tag:
                break
        else:
            return
        closed = self._stack[i:]
        del self._stack[i:]
        was_skipping = self._skip > 0
        for element in closed:
            self._skip -= element.skipped
            self._main -= element.main
            self._items -= element.item
        if was_skipping and any(e.skipped for e in closed) or self._skip:
            return
        if tag in _HEADINGS and self._heading:
            self._flush("heading", self._heading)
            self._heading = 0
        elif tag == "pre" and self._pre:
            self._pre -= 1
            if not self._pre:
                self._flush_code()
        elif tag == "table":
            self._cells = 0
            self._flush()
        elif tag == "tr":
            self._cells = 0
        elif tag in _BLOCK_TAGS and not self._pre and not self._cells and not self._items:
            self._flush()

    def _flush_code(self) -> None:
        code = self._buffer
        text = code.text
        start = 1 if text.startswith("\n") else 0  # HTML drops a newline right after <pre>
        end = len(text.rstrip())
        self._buffer = MappedText()
        if text[start:end].strip():
            block = MappedText()
            block.append("```\n")
            block.extend(code.slice(start, end))
            block.append("\n```")
            self.blocks.append(_Block("code", block, self._main > 0))

    # -- text ------------------------------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = " ".join(f"{self.title or ''} {clean_text(html_lib.unescape(data))}".split()) or None
            return
        if self._skip or not data:
            return
        self._add(data, self._offset())

    def _add(self, data: str, offset: int, src_end: int | None = None) -> None:
        """Visible text from ``offset`` (a decoded entity: ``src_end`` says where its reference ends)."""
        if src_end is not None:  # one decoded character reference
            if not self._pre and _WHITESPACE.fullmatch(data):
                self._whitespace(offset, src_end)
            else:
                self._emit(data, offset, src_end)
            return
        if self._pre:
            self._buffer.append_clean(data.replace("\r", ""), offset)
            return
        pos = 0
        for match in _WHITESPACE.finditer(data):
            self._emit(data[pos : match.start()], offset + pos)
            self._whitespace(offset + match.start(), offset + match.end())
            pos = match.end()
        self._emit(data[pos:], offset + pos)

    def _reference_end(self, offset: int, name: str) -> int:
        end = offset + len(name) + 1
        return end + 1 if self.page[end : end + 1] == ";" else end

    def handle_entityref(self, name: str) -> None:
        if self._skip:
            return
        offset = self._offset()
        text = html_lib.unescape(f"&{name};")
        if self._in_title:
            self.handle_data(text)
            return
        self._add(text, offset, self._reference_end(offset, name))

    def handle_charref(self, name: str) -> None:
        if self._skip:
            return
        offset = self._offset()
        text = html_lib.unescape(f"&#{name};")
        if self._in_title:
            self.handle_data(text)
            return
        self._add(text, offset, self._reference_end(offset, f"#{name}"))

    def close(self) -> None:
        super().close()
        self._flush()


def html_fragment_text(fragment: str) -> list[MappedText]:
    """The visible text blocks of an HTML fragment (raw HTML inside Markdown), offsets relative to the fragment."""
    parser = _Extractor(fragment)
    parser.feed(fragment)
    parser.close()
    return [b.text for b in parser.blocks]


def load_html(data: bytes, source: str) -> Extracted:
    """``.html``: main content with heading paths; the title is ``<title>``, else the first heading."""
    page = decode_text(data, source, encoding=declared_encoding(data))
    parser = _Extractor(page)
    parser.feed(page)
    parser.close()
    blocks = parser.blocks
    if any(b.in_main for b in blocks):
        blocks = [b for b in blocks if b.in_main]
    builder = TextBuilder()
    stack: list[tuple[int, str]] = []
    first_heading: str | None = None
    for block in blocks:
        if block.kind == "heading":
            # Permalink anchors that documentation generators append ("Install¶", "Install #") are not the heading.
            block.text = block.text.slice(0, len(block.text.text.rstrip(_PERMALINK_MARKS)))
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, " ".join(block.text.text.split())))
            first_heading = first_heading or stack[-1][1]
            builder.add_heading(block.text)
            continue
        builder.add(block.text, tuple(t for _, t in stack))
    text, sections = builder.build()
    if not sections:  # only headings: keep them as the text rather than dropping the page
        builder = TextBuilder()
        for block in blocks:
            builder.add(block.text)
        text, sections = builder.build()
    return Extracted(
        text=text,
        sections=sections,
        title=parser.title or first_heading,
        source_map=builder.source_map(),
        source_text=page,
    )
