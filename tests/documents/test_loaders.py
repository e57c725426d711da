"""load_file on real files of every supported type, and every way a file can be refused."""

from __future__ import annotations

import codecs
import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ragwright.documents.loaders import SUPPORTED_EXTENSIONS, load_file
from ragwright.documents.model import EXTRACTION_VERSION, Document
from ragwright.errors import (
    CorruptFileError,
    DecodeError,
    EmptyDocumentError,
    EncryptedFileError,
    FileTooLargeError,
    IngestError,
    UnsupportedFileError,
)

MB = 2**20


def load(path: Path, **kwargs: object) -> Document:
    return load_file(path, path.name, max_bytes=MB, **kwargs)  # type: ignore[arg-type]


def section_texts(doc: Document) -> list[str]:
    return [doc.text[s.start : s.end] for s in doc.sections]


def assert_sections_valid(doc: Document) -> None:
    previous_end = 0
    for s in doc.sections:
        assert previous_end <= s.start < s.end <= len(doc.text)
        assert doc.text[s.start : s.end] == doc.text[s.start : s.end].strip()
        previous_end = s.end


# -- refusals ----------------------------------------------------------------------------------------------------


def test_supported_extensions_without_importing_heavy_libraries() -> None:
    assert {".md", ".txt", ".html", ".pdf", ".docx"} <= SUPPORTED_EXTENSIONS
    code = (
        "import sys, ragwright.documents.loaders as l; assert l.SUPPORTED_EXTENSIONS; "
        "print(sorted(m for m in ('pypdfium2', 'docx', 'markdown_it', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"whatever")
    with pytest.raises(UnsupportedFileError) as err:
        load(path)
    assert "'.pptx'" in err.value.reason and "\n" not in err.value.reason


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    with pytest.raises(EmptyDocumentError, match="empty"):
        load(path)


def test_whitespace_only_is_empty_after_extraction(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n\t \n")
    with pytest.raises(EmptyDocumentError, match="no text"):
        load(path)


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)

    def no_read(self: Path) -> bytes:
        raise AssertionError("read_bytes called on an oversized file")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    with pytest.raises(FileTooLargeError) as err:
        load_file(path, "big.txt", max_bytes=1000)
    assert "limit" in err.value.reason


def test_binary_behind_txt_extension(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(CorruptFileError, match="binary"):
        load(path)


@pytest.mark.parametrize("ext", [".md", ".html"])
def test_control_characters_behind_text_extension(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"noise{ext}"
    path.write_bytes(b"ab\x01\x02\x03\x04cd\x05\x06\x07\x08" * 50)
    with pytest.raises(CorruptFileError):
        load(path)


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(b"caf\xe9 \x81\x8d broken")  # not UTF-8, and 0x81/0x8D are undefined in cp1252
    with pytest.raises(DecodeError):
        load(path)


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read"):
        load(tmp_path / "gone.md")


# -- encodings ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Crème brûlée\r\nsecond line".encode(),
        codecs.BOM_UTF8 + "Crème brûlée\nsecond line".encode(),
        "Crème brûlée\nsecond line".encode("utf-16"),  # with BOM
        "Crème brûlée\nsecond line".encode("cp1252"),
    ],
    ids=["utf8-crlf", "utf8-bom", "utf16-bom", "cp1252"],
)
def test_text_encodings(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "dessert.txt"
    path.write_bytes(raw)
    doc = load(path)
    assert doc.text == "Crème brûlée\nsecond line"
    assert doc.content_hash == f"{hashlib.sha256(raw).hexdigest()}.x{EXTRACTION_VERSION}"
    assert doc.title == "dessert" and doc.file_type == "txt"


# -- formats -----------------------------------------------------------------------------------------------------


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("\n\nFirst paragraph.\n\nSecond paragraph.\n")
    doc = load(path, tags=("ops",))
    assert section_texts(doc) == ["First paragraph.\n\nSecond paragraph."]
    assert doc.tags == ("ops",) and doc.doc_id == "notes.txt"
    assert Path(doc.source).is_absolute()


def test_markdown_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "---\ntitle: Field Guide\ntags: [setup, linux]\n---\n# Guide\nIntro.\n\n## Install\n### Linux\nRun it.\n"
    )
    doc = load(path, tags=("linux", "extra"))
    assert doc.title == "Field Guide"
    assert doc.tags == ("setup", "linux", "extra")
    assert [s.heading_path for s in doc.sections] == [("Guide",), ("Guide", "Install", "Linux")]
    assert section_texts(doc) == ["Intro.", "Run it."]
    assert "title:" not in doc.text
    assert_sections_valid(doc)


HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Quillfin Support</title><script>window.track = 1;</script><style>body{}</style></head>
<body>
<header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/login">Sign in</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. <a>Accept all</a></div>
<main><article>
<h1>Troubleshooting</h1>
<p>This page lists fixes for the most common problems reported by Quillfin Vault owners in the field.</p>
<h2>Network</h2>
<p>If the status light blinks amber, the vault cannot reach its default gateway and backups are paused.</p>
<h3>Static addresses</h3>
<p>A static address is set in the web console under Settings, Network, where the gateway is required too.</p>
<h2>Disks</h2>
<p>A disk that reports more than ten reallocated sectors should be replaced within one week of the warning.</p>
</article></main>
<footer><p>Copyright 2025 Marrowind Systems. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
<script>console.log("analytics")</script>
</body></html>
"""


def test_html_file_strips_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "support.html"
    path.write_text(HTML_PAGE)
    doc = load(path)
    assert doc.title == "Quillfin Support" and doc.file_type == "html"
    for junk in ("cookies", "Sign in", "Copyright", "analytics", "window.track", "Privacy policy"):
        assert junk not in doc.text
    paths = [s.heading_path for s in doc.sections]
    assert ("Troubleshooting", "Network", "Static addresses") in paths
    assert ("Troubleshooting", "Disks") in paths
    by_path = dict(zip(paths, section_texts(doc), strict=True))
    assert by_path[("Troubleshooting", "Disks")].startswith("A disk that reports")
    assert_sections_valid(doc)


TINY_PAGE = (
    "<html><head><title>Tiny</title></head><body><nav>Menu</nav><h2>Only</h2><p>One line.</p>"
    "<div class='cookie-notice'>Accept cookies</div><footer>Footer text</footer></body></html>"
)


def test_short_html_page_keeps_content_without_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "tiny.htm"
    path.write_text(TINY_PAGE)
    doc = load(path)
    assert "One line." in doc.text
    assert "Menu" not in doc.text and "Footer" not in doc.text and "cookies" not in doc.text
    assert doc.title == "Tiny" and [s.heading_path for s in doc.sections] == [("Only",)]


def test_html_page_without_main_element(tmp_path: Path) -> None:
    path = tmp_path / "tiny.html"
    path.write_text(TINY_PAGE.replace("<p>One line.</p>", "<p>One line.</p><h3>Deeper</h3><p>Two.<br>Three.</p>"))
    doc = load(path)
    assert "Menu" not in doc.text and "Footer" not in doc.text and "cookies" not in doc.text
    assert [s.heading_path for s in doc.sections] == [("Only",), ("Only", "Deeper")]
    assert section_texts(doc) == ["One line.", "Two.\nThree."]


def test_pdf_pages_and_metadata_title(pdf_factory: Callable[..., Path]) -> None:
    path = pdf_factory(
        "datasheet.pdf",
        ["Overview. The vault stores backups.", "Power. It draws 45 W at full load.", "Warranty. Five years."],
        title="Q4 Datasheet",
    )
    doc = load(path)
    assert doc.title == "Q4 Datasheet" and doc.file_type == "pdf"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "45 W" in section_texts(doc)[1]
    assert doc.metadata["pages"] == "3"
    assert_sections_valid(doc)


def test_pdf_without_title_uses_stem(pdf_factory: Callable[..., Path]) -> None:
    doc = load(pdf_factory("manual-v2.pdf", ["Some text."]))
    assert doc.title == "manual-v2"


def test_pdf_without_text(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)  # a drawing, no text: what a scan looks like to a text extractor
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(EmptyDocumentError, match="OCR"):
        load(path)


def test_encrypted_pdf(pdf_factory: Callable[..., Path]) -> None:
    path = pdf_factory("locked.pdf", ["Secret numbers."], user_password="hunter2")
    with pytest.raises(EncryptedFileError, match="password"):
        load(path)


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_pdf(pdf_factory: Callable[..., Path], keep: float) -> None:
    path = pdf_factory("cut.pdf", ["Page one text.", "Page two text."])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptFileError, match="PDF"):
        load(path)


def test_garbage_pdf(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("this is not a pdf at all")
    with pytest.raises(CorruptFileError):
        load(path)


def test_docx_headings_paragraphs_and_tables(docx_factory: Callable[..., Path]) -> None:
    def build(document: object) -> None:
        d = document  # docx.Document
        d.add_heading("Owner Manual", level=0)  # type: ignore[attr-defined]  # style "Title"
        d.add_paragraph("Read this first.")  # type: ignore[attr-defined]
        d.add_heading("Install", level=1)  # type: ignore[attr-defined]
        d.add_heading("Linux", level=2)  # type: ignore[attr-defined]
        d.add_paragraph("Run the installer.")  # type: ignore[attr-defined]
        table = d.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
        table.cell(0, 0).text, table.cell(0, 1).text = "Model", "Bays"
        table.cell(1, 0).text, table.cell(1, 1).text = "Q4", "4"
        d.add_heading("Warranty", level=1)  # type: ignore[attr-defined]
        d.add_paragraph("Five years.")  # type: ignore[attr-defined]

    doc = load(docx_factory("manual.docx", build))
    assert doc.title == "Owner Manual" and doc.file_type == "docx"
    assert [s.heading_path for s in doc.sections] == [(), ("Install", "Linux"), ("Warranty",)]
    assert section_texts(doc) == ["Read this first.", "Run the installer.\n\nModel | Bays\nQ4 | 4", "Five years."]
    assert_sections_valid(doc)


def test_docx_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_text("plain text pretending to be a Word file")
    with pytest.raises(CorruptFileError, match="zip"):
        load(path)


def test_zip_that_is_not_a_docx(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(CorruptFileError):
        load(path)


def test_encrypted_office_container(tmp_path: Path) -> None:
    path = tmp_path / "locked.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(EncryptedFileError):
        load(path)


def test_no_loader_lets_invisible_characters_through(tmp_path: Path, pdf_factory: Callable[..., Path]) -> None:
    from ragwright.documents.normalize import is_invisible

    noisy = "Zero\u200bwidth\u200c join\u200d word\u2060 bom\ufeff bidi\u202e tag\U000e0041 bell\x07 c1\x85 end."
    paths = [tmp_path / "n.txt", tmp_path / "n.md", tmp_path / "n.html"]
    paths[0].write_text(noisy)
    paths[1].write_text(f"# Noise\n{noisy}\n")
    paths[2].write_text(f"<title>T\u200bitle\x07</title><p>{noisy}</p>")
    paths.append(pdf_factory("n.pdf", ["Soft\xadhyphen and ligature-free text."], title="PDF\x07 title\u200b"))
    for path in paths:
        doc = load(path)
        assert not any(is_invisible(ch) for ch in doc.text + doc.title), path.name
        if path.suffix != ".pdf":
            assert doc.text.endswith("Zerowidth join word bom bidi tag bell c1 end."), path.name
    assert load(paths[2]).title == "Title" and load(paths[3]).title == "PDF title"
