"""The data that flows from loaders through the chunker into the store.

A loader turns one source into a :class:`Document`: its full text plus the structure that citations point to
(`Section`: heading path and page). The chunker cuts a document into :class:`Chunk` objects whose ``id`` is the hash of
exactly what gets embedded, so an unchanged chunk never needs embedding twice.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass, field

_JOIN_GAP = 16
"""Source ranges of one chunk closer than this many dropped source characters (markup, escapes, line breaks, a
hidden span) are reported as one range, so a chunk maps to a handful of ranges, not one per word."""


@dataclass(frozen=True, slots=True)
class Section:
    """A structural unit of a document: a Markdown/HTML section under a heading path, a PDF page, a paragraph run.

    ``start``/``end`` are character offsets into :attr:`Document.text`.
    """

    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A range of the original source: ``[start, end)`` on ``page`` (PDFs, 1-based; ``None`` for other formats).

    For a PDF, ``start``/``end`` are PDFium character indices on that page (``PdfTextPage.get_charbox(i)`` gives the
    box of each one, ``count_rects(start, end - start)`` the rectangles to highlight). For the text formats (Markdown,
    HTML, plain text) they are character offsets into the decoded source, line endings normalised to ``\\n``.
    """

    page: int | None
    start: int
    end: int


def spans_json(spans: tuple[SourceSpan, ...]) -> str:
    """``spans`` as the compact JSON the stores keep per chunk: ``[[page, start, end], ...]``."""
    return json.dumps([[s.page, s.start, s.end] for s in spans], separators=(",", ":"))


def spans_from_json(raw: str | None) -> tuple[SourceSpan, ...]:
    """The inverse of :func:`spans_json` (``None`` or ``"[]"``: no spans)."""
    return tuple(SourceSpan(page, start, end) for page, start, end in json.loads(raw or "[]"))


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Where the characters of :attr:`Document.text` came from, piece by piece (see docs/adr/0005-offset-map.md).

    Piece ``i`` is ``text[text_starts[i]:text_ends[i]]`` and came from source ``[src_starts[i], src_ends[i])`` on
    ``pages[i]``. A piece is *linear* when both lengths are equal (copied text: offset ``k`` inside it maps to source
    ``src_start + k``); otherwise (a ligature expanded, an entity decoded, whitespace collapsed) every offset inside it
    maps to the piece's start. Text between pieces (separators the loader added) maps to nothing.

    Example::

        smap = SourceMap((0,), (5,), (10,), (15,))
        smap.spans(1, 4)  # (SourceSpan(None, 11, 14),)
    """

    text_starts: tuple[int, ...]
    text_ends: tuple[int, ...]
    src_starts: tuple[int, ...]
    src_ends: tuple[int, ...]
    pages: tuple[int, ...] | None = None

    def _source(self, i: int, offset: int, end: bool) -> int:
        t0, t1, s0, s1 = self.text_starts[i], self.text_ends[i], self.src_starts[i], self.src_ends[i]
        if t1 - t0 == s1 - s0:
            return s0 + max(0, min(offset, t1) - t0)
        return s1 if end and offset >= t1 else s0

    def spans(self, start: int, end: int) -> tuple[SourceSpan, ...]:
        """The source ranges that text ``[start, end)`` came from, in order; near ranges on one page are merged."""
        out: list[SourceSpan] = []
        i = max(0, bisect_right(self.text_starts, start) - 1)
        while i < len(self.text_starts) and self.text_starts[i] < end:
            if self.text_ends[i] > start:
                page = self.pages[i] if self.pages is not None else None
                s = self._source(i, max(start, self.text_starts[i]), end=False)
                e = self._source(i, min(end, self.text_ends[i]), end=True)
                if e <= s:
                    e = s + 1 if self.src_ends[i] > s else s
                last = out[-1] if out else None
                if last is not None and last.page == page and 0 <= s - last.end <= _JOIN_GAP:
                    out[-1] = SourceSpan(page, last.start, max(last.end, e))
                elif e > s:
                    out.append(SourceSpan(page, s, e))
            i += 1
        return tuple(out)


def source_map_json(smap: SourceMap) -> str:
    """``smap`` as the compact JSON the stores keep per document: ``[text_starts, text_ends, src_starts, src_ends,
    pages or null]``."""
    pages = list(smap.pages) if smap.pages is not None else None
    parts = [list(smap.text_starts), list(smap.text_ends), list(smap.src_starts), list(smap.src_ends), pages]
    return json.dumps(parts, separators=(",", ":"))


def source_map_from_json(raw: str | None) -> SourceMap | None:
    """The inverse of :func:`source_map_json` (``None``: no map)."""
    if not raw:
        return None
    t0, t1, s0, s1, pages = json.loads(raw)
    return SourceMap(tuple(t0), tuple(t1), tuple(s0), tuple(s1), tuple(pages) if pages is not None else None)


@dataclass(frozen=True, slots=True)
class Original:
    """What a citation viewer shows a document from, kept by the store beside the document.

    For a PDF, the file itself (``media_type`` ``application/pdf``): a viewer renders the cited page and highlights
    the PDFium character range of :class:`SourceSpan`. For the text formats (Markdown, HTML, plain text), the decoded
    source as UTF-8 (``text/plain``): exactly the text whose offsets :class:`SourceSpan` counts, so it needs no
    decoding (or parsing) to be marked.
    """

    media_type: str
    data: bytes

    PDF = "application/pdf"
    TEXT = "text/plain; charset=utf-8"


@dataclass(slots=True)
class Document:
    """One source, loaded.

    Example::

        doc = Document(doc_id="guide.md", source="/abs/guide.md", file_type="md", title="Guide",
                       text="# Guide\\nHello", sections=[Section(0, 13, ("Guide",))], content_hash="…")
    """

    doc_id: str
    """Stable identity within a tenant: the path relative to the ingest root for files, the `_id` for BEIR records."""
    source: str
    """Where it came from (absolute path, or `corpus.jsonl#id`)."""
    file_type: str
    title: str
    text: str
    sections: list[Section]
    content_hash: str
    """:func:`source_hash` of the raw bytes (or record); equal hashes mean nothing to re-index."""
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    source_map: SourceMap | None = None
    """Offsets of ``text`` back to the original (pages, PDF character indices); ``None`` when ``text`` is the source
    itself (BEIR records, benchmark passages)."""
    original: Original | None = None
    """The source a citation viewer shows (the PDF, or the decoded text the map points into); ``None`` when the
    document has no map (DOCX, BEIR records)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable, citable piece of a document.

    ``text`` is the exact span ``document.text[char_start:char_end]``, which is what a citation quotes;
    ``context`` is what is prepended when embedding and keyword-indexing (title and heading path), so a chunk that says
    "Run it with --force" is still found by a question about the section it sits in.
    """

    id: str
    doc_id: str
    ordinal: int
    text: str
    context: str
    char_start: int
    char_end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    n_tokens: int = 0
    source_spans: tuple[SourceSpan, ...] = ()
    """Where ``text`` sits in the original file (empty when the document has no source map); not part of the id."""

    @property
    def indexed_text(self) -> str:
        """What the embedder and the keyword index see."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def text_hash(self) -> str:
        """Hash of exactly what is embedded: equal hashes share one embedding, whatever document they sit in."""
        return text_hash(self.indexed_text)

    @staticmethod
    def make_id(doc_id: str, ordinal: int, indexed_text: str) -> str:
        """Content hash that is unique within a tenant: the document, the position and the indexed text."""
        key = f"{doc_id}\0{ordinal}\0{indexed_text}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def text_hash(indexed_text: str) -> str:
    return hashlib.sha256(indexed_text.encode("utf-8")).hexdigest()[:32]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


EXTRACTION_VERSION = 3
"""Raised whenever the loaders turn the same bytes into different text or keep more of a file (2: hyphens re-joined,
hidden text dropped, CommonMark, HTML without trafilatura; 3: each file's original and source map are stored for
highlighting citations, which files indexed at 2 lack), so ``ingest`` re-extracts files it indexed before instead of
skipping them. Chunks whose text did not change keep their vectors (they are reused by text hash): a re-extraction
costs parsing, not embedding."""


def source_hash(data: bytes) -> str:
    """A source's ``content_hash``: the sha256 of its bytes, tagged with :data:`EXTRACTION_VERSION`."""
    return f"{sha256_bytes(data)}.x{EXTRACTION_VERSION}"
