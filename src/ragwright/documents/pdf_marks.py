"""Where a cited span of a PDF sits on its page: rectangles to highlight and the text they cover, from PDFium.

A citation's :class:`~ragwright.documents.model.SourceSpan` is a PDFium character range on a page (ADR 0005);
``PdfTextPage.count_rects`` / ``get_rect`` turn it into the page-space rectangles of its lines (PDF points, origin at
the bottom left, as pdf.js's ``viewport.convertToViewportRectangle`` expects them), and ``get_text_range`` into the
text a reader sees highlighted.

A stored PDF is still an untrusted file, and the servers never parse one (docs/security.md): :func:`pdf_marks` runs
``python -m ragwright.documents.pdf_marks`` under the ingest worker's limits (:mod:`ragwright.ingest.limits`: address
space, CPU budget, wall-clock backstop) and reads its JSON answer. Protocol on stdin: one JSON line
``{"spans": [[page, start, end], ...], "cpu_seconds", "memory_bytes", "wall_seconds"}``, then the PDF's bytes; on
stdout one JSON object ``{"rects": [[page, left, bottom, right, top], ...], "text", "sizes": {page: [w, h]}}``.

Example::

    marks = pdf_marks(pdf_bytes, (SourceSpan(2, 120, 184),), limits)
    marks.rects[0]      # PdfRect(page=2, left=72.0, bottom=640.1, right=410.3, top=652.0)
    marks.text          # "The unit runs at 38 dB in night mode."
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from ragwright.documents.model import SourceSpan
from ragwright.errors import CorruptFileError, ResourceLimitError
from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget

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
    """The child process: read the request, compute under the limits, print one JSON object."""
    header = json.loads(sys.stdin.buffer.readline())
    limits = ParseLimits(header["memory_bytes"], header["cpu_seconds"], header["wall_seconds"])
    limit_memory(limits)
    data = sys.stdin.buffer.read()
    try:
        with parse_budget("cited PDF", limits):
            out = _compute(data, header["spans"])
    except ResourceLimitError as err:
        out = {"error": err.reason}
    except Exception as err:  # a PDFium failure on a strange file: reported, never a traceback to the caller
        out = {"error": f"could not read the PDF ({type(err).__name__})"}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


def pdf_marks(data: bytes, spans: tuple[SourceSpan, ...], limits: ParseLimits) -> PdfMarks:
    """The highlight of ``spans`` on a PDF, computed in a child process under ``limits`` (blocking)."""
    header = {
        "spans": [[s.page, s.start, s.end] for s in spans if s.page is not None],
        "memory_bytes": limits.memory_bytes,
        "cpu_seconds": limits.cpu_seconds,
        "wall_seconds": limits.wall_seconds,
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ragwright.documents.pdf_marks"],
            input=json.dumps(header).encode() + b"\n" + data,
            capture_output=True,
            timeout=limits.wall_seconds + 5.0,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResourceLimitError("cited PDF", "time", "locating the cited span took too long") from None
    try:
        out = json.loads(proc.stdout or b"{}")
    except ValueError:
        out = {}
    if "rects" not in out:
        raise CorruptFileError("cited PDF", str(out.get("error") or f"the PDF reader exited with {proc.returncode}"))
    return PdfMarks(
        rects=tuple(PdfRect(int(p), float(left), float(b), float(r), float(t)) for p, left, b, r, t in out["rects"]),
        text=str(out["text"]),
        sizes={int(k): (float(v[0]), float(v[1])) for k, v in out["sizes"].items()},
    )


if __name__ == "__main__":
    main()
