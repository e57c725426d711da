"""Plain text: decoding bytes safely, and the small pieces every format loader shares.

Text formats (``.txt``, ``.md``, ``.html``) arrive as bytes in an unknown encoding. :func:`decode_text` accepts UTF-8
(with or without BOM) and UTF-16 with a BOM, falls back to cp1252 only when that yields clean text, and refuses binary
data that merely wears a text extension. Line endings are normalised to ``\\n`` so offsets mean the same everywhere.

Every loader returns an :class:`Extracted`; :class:`TextBuilder` assembles one from blocks (a DOCX paragraph, a PDF
page) while keeping :class:`~ragwright.documents.model.Section` offsets exact.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from ragwright.documents.model import Section, SourceMap
from ragwright.documents.normalize import MappedText
from ragwright.errors import CorruptFileError, DecodeError

__all__ = ["Extracted", "TextBuilder", "decode_text", "load_text", "normalize_newlines", "trimmed_span"]

# Bytes that never occur in text (C0 controls other than \t \n \v \f \r, plus DEL). ESC (0x1b) is tolerated in small
# numbers because terminal logs contain colour codes.
_CONTROL_BYTES = frozenset(range(0x09)) | frozenset(range(0x0E, 0x20)) | {0x7F}
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_SHARE = 0.05
"""Above this share of control characters a "text" file is treated as binary."""
_SNIFF_BYTES = 64 * 1024


@dataclass(slots=True)
class Extracted:
    """What a format loader returns; :func:`ragwright.documents.loaders.load_file` turns it into a Document."""

    text: str
    sections: list[Section]
    title: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    source_map: SourceMap | None = None
    source_text: str | None = None
    """The decoded source the map's offsets count (text formats); kept so a citation can be marked in it."""


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n`` (PDFium and Windows files use them)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def trimmed_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Move ``start``/``end`` inwards past whitespace; returns an empty span (``start == end``) for blank text."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _looks_binary(data: bytes) -> bool:
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b in _CONTROL_BYTES)
    return controls > _BINARY_SHARE * len(sample)


def decode_text(data: bytes, source: str, encoding: str | None = None) -> str:
    """Decode a text file's bytes, or raise :class:`CorruptFileError` (binary) / :class:`DecodeError` (encoding).

    ``encoding`` is what the file declares (an HTML ``<meta charset>``); a BOM still wins, and a declaration the bytes
    do not satisfy falls back to the rules for undeclared text.

    Example::

        decode_text("café".encode("cp1252"), "menu.txt")  # -> "café"
        decode_text("café".encode("latin-1"), "menu.html", encoding="cp1252")  # -> "café"
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DecodeError(source, f"invalid UTF-16 text at byte {exc.start}") from None
        if "\x00" in text or len(_CONTROL_CHARS.findall(text)) > _BINARY_SHARE * len(text):
            raise CorruptFileError(source, "binary data behind a text extension (control characters)")
        return normalize_newlines(text)
    if _looks_binary(data):
        raise CorruptFileError(source, "binary data behind a text extension (NUL or control bytes)")
    if encoding is not None and not encoding.startswith("utf-16"):
        try:
            return normalize_newlines(data.decode(encoding))
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return normalize_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")  # strict: the five undefined cp1252 bytes raise
    except UnicodeDecodeError as exc:
        raise DecodeError(source, f"not UTF-8, UTF-16 or cp1252 text (undefined byte at {exc.start})") from None
    if _CONTROL_CHARS.search(text):
        raise DecodeError(source, "not UTF-8 text, and cp1252 yields control characters")
    return normalize_newlines(text)


class TextBuilder:
    """Joins blocks with blank lines and records one Section per run of blocks that share a heading path and page.

    Example::

        b = TextBuilder()
        b.add("Intro text", ("Guide",))
        b.add("More text", ("Guide",))   # same path: extends the section
        b.add("Page two", (), page=2)
        text, sections = b.build()       # 2 sections
    """

    def __init__(self) -> None:
        self._text = MappedText()
        self._sections: list[Section] = []

    def _append(self, block: str | MappedText) -> tuple[int, int] | None:
        """Append a stripped block after a blank line; its span, or None for a blank block."""
        mapped = block.strip() if isinstance(block, MappedText) else None
        plain = mapped.text if mapped is not None else str(block).strip()
        if not plain:
            return None
        if self._text.length:
            self._text.append("\n\n")
        start = self._text.length
        if mapped is not None:
            self._text.extend(mapped)
        else:
            self._text.append(plain)
        return start, self._text.length

    def add(self, block: str | MappedText, heading_path: tuple[str, ...] = (), page: int | None = None) -> None:
        """Append a block (a MappedText keeps its source offsets); blank blocks are ignored."""
        span = self._append(block)
        if span is None:
            return
        start, end = span
        last = self._sections[-1] if self._sections else None
        if last is not None and last.heading_path == heading_path and last.page == page:
            self._sections[-1] = Section(last.start, end, heading_path, page)
        else:
            self._sections.append(Section(start, end, heading_path, page))

    def add_heading(self, heading: str | MappedText) -> None:
        """A heading line between sections: in the text (a chunk that spans it reads it), in no Section's span."""
        span = self._append(heading)
        if span is not None:
            self._sections.append(Section(span[1], span[1]))  # a boundary: never extended

    def build(self) -> tuple[str, list[Section]]:
        return self._text.text, [s for s in self._sections if s.end > s.start]

    def source_map(self) -> SourceMap:
        """The map of every block added as a MappedText."""
        return self._text.source_map()


def load_text(data: bytes, source: str) -> Extracted:
    """``.txt``: the decoded text as one run of paragraphs (the chunker splits it at blank lines).

    Plain text has no reliable headings, so the title falls back to the file name.
    """
    mapped = MappedText()
    decoded = decode_text(data, source)
    mapped.append_clean(decoded, 0)
    text = mapped.text
    start, end = trimmed_span(text, 0, len(text))
    sections = [Section(start, end)] if end > start else []
    return Extracted(text=text, sections=sections, source_map=mapped.source_map(), source_text=decoded)
