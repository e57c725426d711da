"""One text sanitiser for every loader, and :class:`MappedText`, text built piece by piece with its source offsets.

:func:`clean_text` is what every loader (and anything that shows document text to a user) applies, so no chunk and no
snippet holds characters a reader cannot see:

* C0/C1 control characters other than tab and newline (PDFium's U+0002 hyphen marker, NULs, escape codes) are removed;
* invisible format characters are removed: zero-width space/joiners (U+200B-U+200D), word joiner (U+2060), BOM /
  zero-width no-break space (U+FEFF) inside text, soft hyphens (U+00AD), bidirectional embeddings and isolates
  (U+202A-U+202E, U+2066-U+2069, the "Trojan Source" characters), Unicode tag characters (U+E0000-U+E007F, used to
  smuggle instructions past a reader) and U+FFFE (non-characters PDFium uses for hyphens);
* typographic ligatures (U+FB00-U+FB06, ``ﬁ`` ``ﬂ`` ``ﬀ`` ...) are expanded by NFKC.

Example::

    clean_text("e\\ufb03cient zero\\u200bwidth\\x07")  # "efficient zerowidth"
"""

from __future__ import annotations

import re
import unicodedata

from ragwright.documents.model import SourceMap

__all__ = ["MappedText", "clean_text", "is_invisible"]

_INVISIBLE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 except \t \n, DEL, C1
    "\u00ad\u200b-\u200d\u2060\ufeff\ufffe\uffff"
    "\u202a-\u202e\u2066-\u2069"
    "\U000e0000-\U000e007f"
)
_LIGATURES = "\ufb00-\ufb06"
_SPECIAL = re.compile(f"[{_INVISIBLE}{_LIGATURES}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")


def is_invisible(char: str) -> bool:
    """True for a character :func:`clean_text` removes (controls, zero-width and format characters)."""
    return bool(_INVISIBLE_RE.fullmatch(char))


def _replacement(char: str) -> str:
    return "" if _INVISIBLE_RE.fullmatch(char) else unicodedata.normalize("NFKC", char)


def clean_text(text: str) -> str:
    """``text`` without invisible characters and with ligatures expanded (see the module docstring)."""
    return _SPECIAL.sub(lambda m: _replacement(m.group()), text)


class MappedText:
    """Text assembled from pieces, each remembering the source range it came from; :meth:`source_map` records them.

    Consecutive copied pieces that continue each other in the source are merged, so appending a page one character
    at a time costs one map entry per change of alignment, not per character.

    Example::

        m = MappedText()
        m.append_clean("a\\u200bb", src_start=10)   # "ab": "a" from 10, "b" from 12
        m.append("\\n\\n")                          # separator, from nowhere
        m.text, m.source_map().spans(0, 2)          # ("ab\\n\\n", (SourceSpan(None, 10, 13),))
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.length = 0
        self._t0: list[int] = []
        self._t1: list[int] = []
        self._s0: list[int] = []
        self._s1: list[int] = []
        self._pages: list[int] = []
        self._has_pages = False

    @property
    def last(self) -> str:
        """The last character ('' when empty), without joining the text."""
        return self._parts[-1][-1] if self._parts and self._parts[-1] else ""

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def append(self, text: str, src_start: int | None = None, src_end: int | None = None, page: int = 0) -> None:
        """Add ``text``; from source ``[src_start, src_end)`` (``src_end`` defaults to a copy's end) or from nowhere."""
        if not text:
            return
        start = self.length
        self._parts.append(text)
        self.length += len(text)
        if src_start is None:
            return
        if src_end is None:
            src_end = src_start + len(text)
        self._has_pages = self._has_pages or page != 0
        if (
            self._t1
            and self._t1[-1] == start
            and self._s1[-1] == src_start
            and self._pages[-1] == page
            and self._t1[-1] - self._t0[-1] == self._s1[-1] - self._s0[-1]
            and len(text) == src_end - src_start
        ):
            self._t1[-1] = self.length
            self._s1[-1] = src_end
            return
        self._t0.append(start)
        self._t1.append(self.length)
        self._s0.append(src_start)
        self._s1.append(src_end)
        self._pages.append(page)

    def append_clean(self, text: str, src_start: int, page: int = 0) -> None:
        """Add source text copied from ``src_start`` on, through :func:`clean_text`, keeping every offset exact."""
        pos = 0
        for match in _SPECIAL.finditer(text):
            self.append(text[pos : match.start()], src_start + pos, page=page)
            self.append(_replacement(match.group()), src_start + match.start(), src_start + match.end(), page)
            pos = match.end()
        self.append(text[pos:], src_start + pos, page=page)

    def extend(self, other: MappedText) -> None:
        """Append another MappedText, its map shifted to follow this text."""
        shift = self.length
        for t0, t1, s0, s1, page in zip(other._t0, other._t1, other._s0, other._s1, other._pages, strict=True):
            self._t0.append(t0 + shift)
            self._t1.append(t1 + shift)
            self._s0.append(s0)
            self._s1.append(s1)
            self._pages.append(page)
        self._has_pages = self._has_pages or other._has_pages
        self._parts.append(other.text)
        self.length += other.length

    def slice(self, start: int, end: int) -> MappedText:
        """The text ``[start, end)`` with its map (offsets re-based to 0)."""
        out = MappedText()
        out._parts = [self.text[start:end]]
        out.length = max(0, end - start)
        out._has_pages = self._has_pages
        for t0, t1, s0, s1, page in zip(self._t0, self._t1, self._s0, self._s1, self._pages, strict=True):
            if t1 <= start or t0 >= end:
                continue
            a, b = max(t0, start), min(t1, end)
            if t1 - t0 == s1 - s0:
                s0, s1 = s0 + (a - t0), s0 + (b - t0)
            out._t0.append(a - start)
            out._t1.append(b - start)
            out._s0.append(s0)
            out._s1.append(s1)
            out._pages.append(page)
        return out

    def strip(self) -> MappedText:
        """Without leading and trailing whitespace."""
        text = self.text
        start, end = 0, len(text)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return self if (start, end) == (0, len(text)) else self.slice(start, end)

    def shifted(self, delta: int) -> MappedText:
        """The same text with every source offset moved by ``delta`` (a fragment parsed on its own)."""
        out = self.slice(0, self.length)
        out._s0 = [s + delta for s in out._s0]
        out._s1 = [s + delta for s in out._s1]
        return out

    def source_map(self) -> SourceMap:
        return SourceMap(
            tuple(self._t0),
            tuple(self._t1),
            tuple(self._s0),
            tuple(self._s1),
            tuple(self._pages) if self._has_pages else None,
        )
