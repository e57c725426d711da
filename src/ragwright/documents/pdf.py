"""PDF: one Section per page (``page`` is 1-based), text extracted with PDFium through pypdfium2 (imported lazily).

PDFium reports why a document failed to open: ``FPDF_ERR_PASSWORD`` becomes :class:`EncryptedFileError`, any other
failure (truncated file, garbage, broken cross-reference table) :class:`CorruptFileError`. A PDF encrypted with only an
owner password opens without one and is read normally, as every PDF viewer does.

Text comes character by character from PDFium's text page, in its order (content-stream order, which is the reading
order PDFium reconstructs), and is normalised as it is read:

* a hyphen PDFium marks as a line-end hyphen (U+0002 from ``FPDFText_GetUnicode``, U+FFFE through
  ``get_text_range``; PDFium has already joined the two lines) is dropped between two lower-case letters
  ("pre\\u0002training" -> "pretraining") and kept as ``-`` otherwise ("COVID-19"); a soft hyphen at a line end
  likewise. Hyphens inside a line ("fine-tuning") are ordinary characters and stay;
* every character goes through NFKC (ligatures ``ﬁ`` -> ``fi``, full-width forms) and :func:`clean_text`;
* ``\\r\\n`` becomes ``\\n`` and trailing spaces on a line go;
* hidden text is dropped: text objects drawn fully transparent, under 1 pt tall (tiny text), or in white (all
  channels >= 250 of 255) with no image, shading or coloured fill under them (white text on a dark table header or
  slide background stays). White text over a *white-looking image* is still kept (we do not render the page), and
  text in render mode "invisible" is kept too, because that is how OCR layers of scanned PDFs carry their text.

Each character keeps its PDFium index: the document's :class:`~ragwright.documents.model.SourceMap` maps text
offsets to ``(page, char index)``, from which ``PdfTextPage.get_charbox`` gives the box to highlight.

PDFium is not thread-safe: call :func:`load_pdf` from one thread at a time (run it in a process pool to parallelise).
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from typing import TYPE_CHECKING

from ragwright.documents.normalize import MappedText, is_invisible
from ragwright.documents.text import Extracted, TextBuilder
from ragwright.errors import CorruptFileError, EmptyDocumentError, EncryptedFileError

if TYPE_CHECKING:
    import pypdfium2 as pdfium

__all__ = ["load_pdf"]

_HYPHEN_MARKS = "\x02\ufffe\xad"
_SPECIAL = re.compile(f"[ \\t]*(?:\\r\\n?|\\n)|[{_HYPHEN_MARKS}](?:\\r\\n?|\\n)?|[^\\t -~]")
"""What needs more than a copy: a line end (with the spaces before it), a hyphen mark, anything not printable ASCII."""
_WHITE = 250
_TINY_PT = 1.0


def load_pdf(data: bytes, source: str) -> Extracted:
    """``.pdf``: page texts joined by blank lines; pages without text (scans) are skipped, not OCR'd.

    Example::

        extracted = load_pdf(Path("datasheet.pdf").read_bytes(), "datasheet.pdf")
        [s.page for s in extracted.sections]  # [1, 2, 3]
    """
    import pypdfium2 as pdfium  # lazy: loads the PDFium shared library

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise EncryptedFileError(source, "password-protected PDF") from None
        if exc.err_code == pdfium.raw.FPDF_ERR_SECURITY:
            raise EncryptedFileError(source, "PDF uses an unsupported security handler") from None
        raise CorruptFileError(source, f"not a readable PDF ({exc})") from None
    hidden = 0
    try:
        builder = TextBuilder()
        n_pages = len(pdf)
        for index in range(n_pages):
            try:
                page = pdf[index]
            except pdfium.PdfiumError as exc:  # found by bench/fuzz_loaders.py: a page object that does not load
                raise CorruptFileError(source, f"cannot read page {index + 1} ({exc})") from None
            try:
                textpage = page.get_textpage()
                try:
                    chars, hidden_at = _read_page(page, textpage)
                finally:
                    textpage.close()
            except pdfium.PdfiumError as exc:
                raise CorruptFileError(source, f"cannot read page {index + 1} ({exc})") from None
            finally:
                page.close()
            hidden += sum(1 for i in hidden_at if not chars[i].isspace())
            builder.add(_page_text(chars, hidden_at, index + 1), page=index + 1)
        title = pdf.get_metadata_value("Title").strip() or None
    finally:
        pdf.close()
    text, sections = builder.build()
    if not sections:
        raise EmptyDocumentError(source, "PDF has no extractable text (scanned pages need OCR, which is not supported)")
    metadata = {"pages": str(n_pages)}
    if hidden:
        metadata["hidden_chars_dropped"] = str(hidden)
    return Extracted(text=text, sections=sections, title=title, metadata=metadata, source_map=builder.source_map())


Box = tuple[float, float, float, float]  # left, bottom, right, top


def _bounds(obj: pdfium.PdfObject) -> Box | None:
    import pypdfium2.raw as raw

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not raw.FPDFPageObj_GetBounds(obj.raw, *(ctypes.byref(v) for v in (left, bottom, right, top))):
        return None
    return left.value, bottom.value, right.value, top.value


def _fill(obj: pdfium.PdfObject) -> tuple[int, int, int, int] | None:
    import pypdfium2.raw as raw

    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not raw.FPDFPageObj_GetFillColor(obj.raw, *(ctypes.byref(v) for v in (r, g, b, a))):
        return None
    return r.value, g.value, b.value, a.value


def _is_background(obj: pdfium.PdfObject) -> bool:
    """An image, a shading, or a path filled with a colour that is not white: white text on it can be read."""
    import pypdfium2.raw as raw

    if obj.type in (raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_SHADING):
        return True
    if obj.type != raw.FPDF_PAGEOBJ_PATH:
        return False
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not raw.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill_mode), ctypes.byref(stroke)) or not fill_mode.value:
        return False
    fill = _fill(obj)
    return fill is not None and fill[3] > 0 and min(fill[:3]) < _WHITE


def _hidden_text_objects(page: pdfium.PdfPage) -> set[int]:
    """Addresses of the page's text objects a reader cannot see (forms included): fully transparent, under 1 pt tall,
    or white where no image, shading or coloured fill lies under their centre (white on a dark box stays)."""
    import pypdfium2.raw as raw

    backgrounds: list[Box] = []
    white: list[tuple[int, Box]] = []
    hidden: set[int] = set()
    for obj in page.get_objects():
        if obj.type != raw.FPDF_PAGEOBJ_TEXT:
            if _is_background(obj) and (box := _bounds(obj)) is not None:
                backgrounds.append(box)
            continue
        address = ctypes.cast(obj.raw, ctypes.c_void_p).value or 0
        fill, box = _fill(obj), _bounds(obj)
        if (fill is not None and fill[3] == 0) or (
            box is not None and min(box[2] - box[0], box[3] - box[1]) < _TINY_PT
        ):
            hidden.add(address)
        elif fill is not None and min(fill[:3]) >= _WHITE and box is not None:
            white.append((address, box))
    for address, (left, bottom, right, top) in white:
        x, y = (left + right) / 2, (bottom + top) / 2
        if not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in backgrounds):
            hidden.add(address)
    return hidden


def _read_page(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> tuple[str, set[int]]:
    """The page's characters (``text[i]`` is PDFium character ``i``) and the indices of those drawn invisibly.

    A line break or space after hidden text goes with it, so a hidden line takes its line break along.
    """
    import pypdfium2.raw as raw

    n = textpage.count_chars()
    text = textpage.get_text_range() if n else ""
    if len(text) != n:  # characters PDFium excludes or inserts, or beyond UCS-2: read them one by one
        codes = (raw.FPDFText_GetUnicode(textpage, i) for i in range(n))
        text = "".join(chr(c) if 0 < c < 0x110000 else "\x00" for c in codes)
    hidden_objects = _hidden_text_objects(page)
    hidden: set[int] = set()
    if hidden_objects:
        previous_hidden = False
        for i, char in enumerate(text):
            if char.isspace() or char in _HYPHEN_MARKS:
                if previous_hidden:
                    hidden.add(i)
                continue
            obj = raw.FPDFText_GetTextObject(textpage, i)
            previous_hidden = (ctypes.cast(obj, ctypes.c_void_p).value or 0) in hidden_objects
            if previous_hidden:
                hidden.add(i)
    return text, hidden


def _lower_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].islower()


def _page_text(text: str, hidden: set[int], page: int) -> MappedText:
    """The page's visible characters, normalised (line ends, hyphens, NFKC, invisible characters), with indices."""
    mapped = MappedText()
    start = 0
    for index in [*sorted(hidden), len(text)]:
        if index > start:
            _append_run(mapped, text, start, index, page)
        start = index + 1
    return mapped


def _append_run(mapped: MappedText, text: str, start: int, end: int, page: int) -> None:
    pos = start
    for match in _SPECIAL.finditer(text, start, end):
        mapped.append(text[pos : match.start()], pos, page=page)
        token = match.group()
        if token[0] in _HYPHEN_MARKS:
            # PDFium's line-end hyphen: gone between lower-case letters, "-" otherwise (a soft hyphen: gone).
            if not (_lower_at(text, match.start() - 1) and _lower_at(text, match.end())) and token[0] != "\xad":
                mapped.append("-", match.start(), match.start() + 1, page)
        elif token.endswith(("\n", "\r")):
            mapped.append("\n", match.start(), match.end(), page)
        elif not is_invisible(token):
            mapped.append(unicodedata.normalize("NFKC", token), match.start(), match.end(), page)
        pos = match.end()
    mapped.append(text[pos:end], pos, page=page)
