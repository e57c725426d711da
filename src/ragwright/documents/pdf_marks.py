"""Where a cited span of a PDF sits on its page: rectangles to highlight and the text they cover, from PDFium.

A citation's :class:`~ragwright.documents.model.SourceSpan` is a PDFium character range on a page (ADR 0005);
``PdfTextPage.count_rects`` / ``get_rect`` turn it into the page-space rectangles of its lines (PDF points, origin at
the bottom left, as pdf.js's ``viewport.convertToViewportRectangle`` expects them), and ``get_text_range`` into the
text a reader sees highlighted.

A stored PDF is still an untrusted file, and the servers never parse one (docs/security.md): :func:`pdf_marks` runs
``python -m ragwright.documents.pdf_marks`` under the ingest worker's limits (:mod:`ragwright.documents.isolated`)
with ``{"spans": [[page, start, end], ...]}`` and the PDF's bytes, and reads
``{"rects": [[page, left, bottom, right, top], ...], "text", "sizes": {page: [w, h]}}``.

Example::

    marks = pdf_marks(pdf_bytes, (SourceSpan(2, 120, 184),), limits)
    marks.rects[0]      # PdfRect(page=2, left=72.0, bottom=640.1, right=410.3, top=652.0)
    marks.text          # "The unit runs at 38 dB in night mode."
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragwright.documents.isolated import run_isolated, serve_one
from ragwright.documents.model import SourceSpan
from ragwright.ingest.limits import ParseLimits

__all__ = ["PdfMarks", "PdfRect", "pdf_marks"]

_MAX_RECTS = 2000


@dataclass(frozen=True, slots=True)
class PdfRect:
    """One highlighted rectangle on a page, in PDF points (origin bottom left)."""

    page: int
    left: float
    bottom: float
    right: float
    top: float


@dataclass(frozen=True, slots=True)
class PdfMarks:
    """The rectangles of a cited span, the text they cover, and each page's size in points."""

    rects: tuple[PdfRect, ...]
    text: str
    sizes: dict[int, tuple[float, float]] = field(default_factory=dict)


def _compute(data: bytes, spans: list[list[int]]) -> dict[str, Any]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    rects: list[list[float]] = []
    texts: list[str] = []
    sizes: dict[str, list[float]] = {}
    try:
        for page_no, start, end in spans:
            if not 1 <= page_no <= len(pdf) or end <= start:
                continue
            page = pdf[page_no - 1]
            try:
                sizes[str(page_no)] = [float(v) for v in page.get_size()]
                textpage = page.get_textpage()
                try:
                    n = textpage.count_chars()
                    start, end = max(0, start), min(end, n)
                    if end <= start:
                        continue
                    texts.append(textpage.get_text_range(start, end - start))
                    for k in range(min(textpage.count_rects(start, end - start), _MAX_RECTS - len(rects))):
                        left, bottom, right, top = textpage.get_rect(k)
                        rects.append([page_no, round(left, 2), round(bottom, 2), round(right, 2), round(top, 2)])
                finally:
                    textpage.close()
            finally:
                page.close()
    finally:
        pdf.close()
    return {"rects": rects, "text": " ".join(t.strip() for t in texts), "sizes": sizes}


def main() -> None:
    """The child process (:func:`~ragwright.documents.isolated.serve_one`)."""
    serve_one("cited PDF", lambda data, header: _compute(data, header["spans"]))


def pdf_marks(data: bytes, spans: tuple[SourceSpan, ...], limits: ParseLimits) -> PdfMarks:
    """The highlight of ``spans`` on a PDF, computed in a child process under ``limits`` (blocking)."""
    header = {"spans": [[s.page, s.start, s.end] for s in spans if s.page is not None]}
    out = run_isolated("ragwright.documents.pdf_marks", "cited PDF", header, data, limits)
    return PdfMarks(
        rects=tuple(PdfRect(int(p), float(left), float(b), float(r), float(t)) for p, left, b, r, t in out["rects"]),
        text=str(out["text"]),
        sizes={int(k): (float(v[0]), float(v[1])) for k, v in out["sizes"].items()},
    )


if __name__ == "__main__":
    main()
