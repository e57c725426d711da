"""DOCX: paragraphs and tables in document order, sectioned by the Heading 1/2/3… paragraph styles.

python-docx is imported lazily. Heading paragraphs go into ``heading_path`` (not into a Section's span, as in Markdown);
tables become one line per row with cells separated by `` | ``. Hidden runs (``w:vanish``, set on the run or on its
character style) are dropped, and all text goes through :func:`~ragwright.documents.normalize.clean_text`. A file
that is not a zip package, or a zip that is not a Word document, is :class:`CorruptFileError`; an Office file
encrypted with a password is not a zip at all but an OLE container holding an ``EncryptedPackage`` stream, and is
reported as :class:`EncryptedFileError`. Every archive passes :func:`ragwright.documents.archive.check_archive`
(entry count, inflated sizes, counted while inflating) before python-docx reads it.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING, Any

from ragwright.documents.archive import check_archive
from ragwright.documents.normalize import clean_text
from ragwright.documents.text import Extracted, TextBuilder
from ragwright.errors import CorruptFileError, EncryptedFileError

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

__all__ = ["load_docx"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DAMAGED_PACKAGE: tuple[type[Exception], ...] = (TypeError, AttributeError, IndexError, NotImplementedError, EOFError)
_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


def _is_hidden(run: Run) -> bool:
    if run.font.hidden:
        return True
    style = run.style
    return bool(style is not None and style.font.hidden)


def _visible_text(paragraph: Paragraph) -> str:
    """The paragraph's text without hidden runs (``w:vanish``), runs inside hyperlinks included."""
    from docx.text.hyperlink import Hyperlink

    parts: list[str] = []
    for item in paragraph.iter_inner_content():
        runs = item.runs if isinstance(item, Hyperlink) else [item]
        parts.extend(run.text for run in runs if not _is_hidden(run))
    return clean_text("".join(parts))


def _table_text(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # merged cells repeat the same <w:tc>
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(" ".join(_visible_text(p) for p in cell.paragraphs).split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def load_docx(data: bytes, source: str) -> Extracted:
    """``.docx``: the title is the Title-styled paragraph, the core-properties title, or the first heading."""
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise EncryptedFileError(source, "password-protected Word document")
        raise CorruptFileError(source, "legacy binary Word (.doc) file with a .docx extension")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CorruptFileError(source, "not a .docx file (not a zip package)")
    check_archive(data, source)  # zip bombs and lying headers stop here, before python-docx inflates anything

    import docx  # lazy: python-docx pulls in lxml
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        core_title = (document.core_properties.title or "").strip()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        # SyntaxError covers lxml's XMLSyntaxError for damaged XML parts.
        raise CorruptFileError(source, f"not a readable Word document ({type(exc).__name__})") from None
    except _DAMAGED_PACKAGE as exc:  # python-docx on damaged relationships or parts (found by bench/fuzz_loaders.py)
        raise CorruptFileError(source, f"not a readable Word document ({type(exc).__name__})") from None

    try:
        return _extract(blocks, core_title)
    except _DAMAGED_PACKAGE as exc:  # styles or parts that a damaged package lacks are only met while walking it
        raise CorruptFileError(source, f"not a readable Word document ({type(exc).__name__})") from None


def _extract(blocks: list[Any], core_title: str) -> Extracted:
    """Text and heading sections of the document's blocks (paragraphs and tables, in order)."""
    from docx.table import Table

    builder = TextBuilder()
    stack: list[tuple[int, str]] = []
    style_title: str | None = None
    first_heading: str | None = None
    for block in blocks:
        if isinstance(block, Table):
            builder.add(_table_text(block), tuple(t for _, t in stack))
            continue
        text = _visible_text(block).strip()
        style_name = (block.style.name if block.style is not None else None) or ""
        match = _HEADING_STYLE.match(style_name)
        if style_name.lower() == "title" and text:
            style_title = style_title or " ".join(text.split())
        elif match and text:
            level = int(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(text.split())))
            first_heading = first_heading or stack[-1][1]
        else:
            builder.add(text, tuple(t for _, t in stack))
    text, sections = builder.build()
    return Extracted(text=text, sections=sections, title=style_title or core_title or first_heading)
