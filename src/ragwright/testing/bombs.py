"""Hostile archives built at run time (never committed): a valid .docx whose ``word/document.xml`` inflates to
``inflated`` bytes from a few kilobytes per megabyte, optionally with headers that understate the size.

Example::

    data = docx_bomb(512 * 2**20)                   # ~0.5 MB on disk, 512 MiB inflated
    liar = docx_bomb(64 * 2**20, declared=1_000)    # the zip headers claim 1,000 bytes
"""

from __future__ import annotations

import io
import struct
import zipfile

__all__ = ["docx_bomb", "plain_docx"]

_DOCUMENT = "word/document.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{_W}"><w:body>'
_TAIL = "</w:body></w:document>"
_PARAGRAPH = b"<w:p><w:r><w:t>All work and no play makes a parser dull.</w:t></w:r></w:p>"


def plain_docx(text: str = "A small valid document.") -> bytes:
    """A valid .docx with one paragraph, written by python-docx."""
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_bomb(
    inflated: int, *, declared: int | None = None, extra_entries: int = 0, paragraph: bytes = _PARAGRAPH
) -> bytes:
    """A .docx whose document.xml is ``inflated`` bytes of one short paragraph repeated (deflate, level 9); ``declared``
    rewrites the uncompressed size in its local and central headers; ``extra_entries`` adds that many empty parts;
    ``paragraph`` is the repeated XML (``b"<w:p/>"`` gives millions of empty paragraphs: no text, a huge tree)."""
    src = zipfile.ZipFile(io.BytesIO(plain_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename != _DOCUMENT:
                dst.writestr(info, src.read(info))
        body = inflated - len(_HEAD) - len(_TAIL)
        entry = zipfile.ZipInfo(_DOCUMENT)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(entry, "w", force_zip64=inflated >= 2**31) as part:
            part.write(_HEAD.encode())
            block = paragraph * ((1 << 20) // len(paragraph))
            while body >= len(paragraph):
                n = min(body, len(block)) // len(paragraph) * len(paragraph)
                part.write(block[:n])
                body -= n
            part.write(b" " * body)
            part.write(_TAIL.encode())
        for i in range(extra_entries):
            dst.writestr(f"customXml/padding{i}.xml", b"")
    data = bytearray(out.getvalue())
    if declared is not None:
        _understate(data, _DOCUMENT.encode(), declared)
    return bytes(data)


def _understate(data: bytearray, name: bytes, size: int) -> None:
    """Write ``size`` as the uncompressed size of ``name`` in its local header and central directory record."""
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) != -1:
        n = struct.unpack_from("<H", data, pos + 26)[0]
        if data[pos + 30 : pos + 30 + n] == name:
            struct.pack_into("<I", data, pos + 22, size)
            break
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + n] == name:
            struct.pack_into("<I", data, pos + 24, size)
            break
        pos += 4
