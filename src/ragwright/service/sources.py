"""A cited passage in its source: what a citation panel shows when ``[n]`` is clicked.

A :class:`~ragwright.answering.types.Citation` names a chunk and the exact span ``[char_start, char_end)`` of the
document's text that supports the sentence. The store keeps each document's
:class:`~ragwright.documents.model.Original` and source map (ADR 0005), so the span maps back to the original:

- **PDF** (:attr:`ViewKind.PDF`): the page and PDFium character ranges, turned into page-space rectangles and the
  highlighted text by :func:`~ragwright.documents.pdf_marks.pdf_marks` (a child process under the parse limits: the
  servers never parse a PDF); the viewer fetches the file (:meth:`Store.original`) and renders that page.
- **Markdown, HTML, plain text** (:attr:`ViewKind.TEXT`): the decoded source the map indexes, with the span's
  ranges in it as :class:`Mark` s; for Markdown and HTML also ``html``, the file rendered with the span marked and
  nothing that can run (:mod:`~ragwright.documents.markdown_marks`, :mod:`~ragwright.documents.html_marks`, in a
  child process like a PDF's rectangles).
- **Anything else** (DOCX, BEIR records, documents indexed before originals were kept, a PDF that cannot be read
  again) (:attr:`ViewKind.CHUNK`): the chunk's own text with the span marked, and a note saying why.

Reads follow the key's tags exactly like ``GET /v1/documents``: a document the key may not see, a chunk of another
document, tenant or knowledge base, all read as missing (``None``).

Example::

    view = cited_source(store, "acme", TagScope(), "manual.pdf", chunk_id, 1200, 1264, limits)
    view.kind, view.page, view.highlighted     # (ViewKind.PDF, 3, "The unit runs at 38 dB in night mode.")
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ragwright.documents.html_marks import html_marks
from ragwright.documents.markdown_marks import markdown_marks
from ragwright.documents.model import Original, SourceSpan
from ragwright.documents.pdf_marks import PdfMarks, PdfRect, pdf_marks
from ragwright.errors import IngestError, UserError
from ragwright.ingest.limits import ParseLimits
from ragwright.service.access import TagScope
from ragwright.store.base import DocumentInfo, Store, StoredChunk

__all__ = ["CitedSource", "Mark", "ViewKind", "cited_source", "readable_original"]


class ViewKind(StrEnum):
    """How the cited span is shown."""

    PDF = "pdf"
    """The original PDF at ``page``, with ``rects`` highlighted."""
    TEXT = "text"
    """``text`` is the decoded original; ``marks`` are the span's ranges in it."""
    CHUNK = "chunk"
    """``text`` is the cited chunk; ``marks`` is the span in it (no original to show: see ``note``)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A highlighted range ``[start, end)`` of :attr:`CitedSource.text`."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CitedSource:
    """A cited span located in its source document, ready for a viewer."""

    doc_id: str
    title: str
    file_type: str
    kind: ViewKind
    heading_path: tuple[str, ...]
    page: int | None
    highlighted: str
    """The text the highlight covers (from the original: PDFium's text for a PDF)."""
    text: str = ""
    marks: tuple[Mark, ...] = ()
    rects: tuple[PdfRect, ...] = ()
    page_sizes: dict[int, tuple[float, float]] = field(default_factory=dict)
    html: str = ""
    """A Markdown or HTML original rendered with the span marked (``<mark class="source-mark">``); else empty."""
    note: str = ""


class _MarksCache:
    """The last few highlights (PDF rectangles, rendered Markdown), so opening the same citation twice spawns no
    second child process."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[tuple[object, ...], PdfMarks | str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> PdfMarks | str | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], marks: PdfMarks | str) -> None:
        with self._lock:
            self._items[key] = marks
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE = _MarksCache()


def _visible(store: Store, tenant: str, scope: TagScope, doc_id: str) -> DocumentInfo | None:
    info = store.document(tenant, doc_id)
    return info if info is not None and scope.sees(info.tags) else None


def readable_original(store: Store, tenant: str, scope: TagScope, doc_id: str) -> Original | None:
    """The stored original of a document the key may see (None: missing, hidden by tags, or none kept)."""
    if _visible(store, tenant, scope, doc_id) is None:
        return None
    stored = store.original(tenant, doc_id)
    return stored.original if stored is not None else None


def cited_source(
    store: Store,
    tenant: str,
    scope: TagScope,
    doc_id: str,
    chunk_id: str,
    start: int,
    end: int,
    limits: ParseLimits,
) -> CitedSource | None:
    """Locate text ``[start, end)`` of chunk ``chunk_id`` of ``doc_id`` in its original (blocking: may run a child
    process for a PDF). None when the key may not see the document or the chunk is not one of its chunks;
    :class:`UserError` when the span is not inside the chunk."""
    info = _visible(store, tenant, scope, doc_id)
    found = store.get(tenant, [chunk_id]) if info is not None else []
    if info is None or not found or found[0].doc_path != doc_id:
        return None
    stored = found[0]
    chunk = stored.chunk
    if not chunk.char_start <= start < end <= chunk.char_end:
        where = f"[{chunk.char_start}, {chunk.char_end})"
        raise UserError(f"the span [{start}, {end}) is not inside the cited passage {where}")
    original = store.original(tenant, doc_id)
    spans = original.source_map.spans(start, end) if original is not None and original.source_map else ()
    if original is None:
        return _chunk_view(info, stored, start, end, _no_original(info))
    if not spans:
        return _chunk_view(info, stored, start, end, "the cited passage could not be located in the original file")
    base = CitedSource(
        doc_id=doc_id,
        title=info.title,
        file_type=info.file_type,
        kind=ViewKind.TEXT,
        heading_path=chunk.heading_path,
        page=spans[0].page,
        highlighted="",
    )
    if original.original.media_type == Original.PDF:
        try:
            marks = _pdf_marks(tenant, info, original.original.data, spans, limits)
        except IngestError as err:
            return _chunk_view(info, stored, start, end, f"the PDF could not be read again: {err.reason}")
        return replace(base, kind=ViewKind.PDF, highlighted=marks.text, rects=marks.rects, page_sizes=marks.sizes)
    text = original.original.data.decode("utf-8", "replace")
    marks_t = tuple(Mark(s.start, s.end) for s in spans if 0 <= s.start < s.end <= len(text))
    html = _rendered(tenant, info, original.original.data, marks_t, limits)
    highlighted = " ".join(text[m.start : m.end] for m in marks_t)
    return replace(base, highlighted=highlighted, text=text, marks=marks_t, html=html)


_RENDERERS = {"md": markdown_marks, "html": html_marks}


def _rendered(tenant: str, info: DocumentInfo, data: bytes, marks: tuple[Mark, ...], limits: ParseLimits) -> str:
    """A Markdown or HTML file rendered with ``marks``; empty for plain text, or when it cannot be rendered (the
    text view remains)."""
    render = _RENDERERS.get(info.file_type)
    if render is None:
        return ""
    key = (info.file_type, tenant, info.doc_id, info.content_hash, marks)
    found = _CACHE.get(key)
    if isinstance(found, str):
        return found
    try:
        html = render(data, [(m.start, m.end) for m in marks], limits)
    except IngestError:
        return ""
    _CACHE.put(key, html)
    return html


def _pdf_marks(
    tenant: str, info: DocumentInfo, data: bytes, spans: tuple[SourceSpan, ...], limits: ParseLimits
) -> PdfMarks:
    key = ("pdf", tenant, info.doc_id, info.content_hash, spans)
    found = _CACHE.get(key)
    if isinstance(found, PdfMarks):
        return found
    marks = pdf_marks(data, spans, limits)
    _CACHE.put(key, marks)
    return marks


NO_ORIGINAL_TYPES = frozenset({"docx"})
"""File types whose loader keeps no source map, so no original (see ``ragwright.documents.loaders._original``)."""


def _no_original(info: DocumentInfo) -> str:
    """Why the cited passage is shown instead of the file, and what brings the file (docs/ui.md, Chat)."""
    if info.file_type in NO_ORIGINAL_TYPES:
        return f"ragwright keeps no original of {info.file_type.upper()} files: this is the cited passage"
    return (
        "this document was indexed before ragwright kept originals: run `ragwright ingest` on its file again (or "
        "upload it again) to see the passage highlighted in the file"
    )


def _chunk_view(info: DocumentInfo, stored: StoredChunk, start: int, end: int, note: str) -> CitedSource:
    chunk = stored.chunk
    mark = Mark(start - chunk.char_start, end - chunk.char_start)
    return CitedSource(
        doc_id=info.doc_id,
        title=info.title,
        file_type=info.file_type,
        kind=ViewKind.CHUNK,
        heading_path=chunk.heading_path,
        page=chunk.page,
        highlighted=chunk.text[mark.start : mark.end],
        text=chunk.text,
        marks=(mark,),
        note=note,
    )
