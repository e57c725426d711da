"""PDF: one Section per page (``page`` is 1-based), text extracted with PDFium through pypdfium2 (imported lazily).

PDFium reports why a document failed to open: ``FPDF_ERR_PASSWORD`` becomes :class:`EncryptedFileError`, any other
failure (truncated file, garbage, broken cross-reference table) :class:`CorruptFileError`. A PDF encrypted with only an
owner password opens without one and is read normally, as every PDF viewer does.

PDFium is not thread-safe: call :func:`load_pdf` from one thread at a time (run it in a process pool to parallelise).
"""

from __future__ import annotations

from ragwright.documents.text import Extracted, TextBuilder, normalize_newlines
from ragwright.errors import CorruptFileError, EmptyDocumentError, EncryptedFileError

__all__ = ["load_pdf"]


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
    try:
        builder = TextBuilder()
        n_pages = len(pdf)
        for index in range(n_pages):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
            except pdfium.PdfiumError as exc:
                raise CorruptFileError(source, f"cannot read page {index + 1} ({exc})") from None
            finally:
                page.close()
            builder.add(_clean(text), page=index + 1)
        title = pdf.get_metadata_value("Title").strip() or None
    finally:
        pdf.close()
    text, sections = builder.build()
    if not sections:
        raise EmptyDocumentError(source, "PDF has no extractable text (scanned pages need OCR, which is not supported)")
    return Extracted(text=text, sections=sections, title=title, metadata={"pages": str(n_pages)})


def _clean(text: str) -> str:
    # PDFium ends lines with \r\n and marks soft hyphens/NULs in some producers' text; keep the words, drop the noise.
    text = normalize_newlines(text).replace("\x00", "").replace("\ufffe", "").replace("\xad", "")
    return "\n".join(line.rstrip() for line in text.split("\n"))
