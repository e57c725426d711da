"""Turn one file into a :class:`~ragwright.documents.model.Document`, choosing the loader by extension.

The registry maps an extension to ``"module:function"``; the module is imported on first use, so importing this
module (or listing :data:`SUPPORTED_EXTENSIONS`) never loads PDFium, lxml or python-docx. Each loader takes the raw
bytes and a source name and returns an :class:`~ragwright.documents.text.Extracted`; everything common — size limits,
the empty check, hashing, the title fallback, tags — happens once, here.

Every failure is an :class:`~ragwright.errors.IngestError` subclass with a one-line ``reason``, so an ingest run can
report it against the file and go on::

    try:
        doc = load_file(path, doc_id="manual.pdf", max_bytes=50 * 2**20)
    except IngestError as err:
        print(f"skipped {err.path}: {err.reason}")

BEIR ``corpus.jsonl`` files hold many documents and are read with :func:`ragwright.documents.beir.iter_beir_corpus`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ragwright.documents.model import Document, Original, source_hash
from ragwright.documents.normalize import clean_text
from ragwright.documents.text import Extracted
from ragwright.errors import (
    EmptyDocumentError,
    FileTooLargeError,
    IngestError,
    UnsupportedFileError,
)

__all__ = ["SUPPORTED_EXTENSIONS", "LoaderSpec", "load_file"]

Loader = Callable[[bytes, str], Extracted]


@dataclass(frozen=True, slots=True)
class LoaderSpec:
    """Where a loader lives (imported lazily) and the ``file_type`` its documents get."""

    file_type: str
    target: str  # "module:function"

    def resolve(self) -> Loader:
        module_name, _, func_name = self.target.partition(":")
        loader: Loader = getattr(importlib.import_module(module_name), func_name)
        return loader


_PKG = "ragwright.documents"
_REGISTRY: MappingProxyType[str, LoaderSpec] = MappingProxyType(
    {
        ".md": LoaderSpec("md", f"{_PKG}.markdown:load_markdown"),
        ".markdown": LoaderSpec("md", f"{_PKG}.markdown:load_markdown"),
        ".txt": LoaderSpec("txt", f"{_PKG}.text:load_text"),
        ".html": LoaderSpec("html", f"{_PKG}.html:load_html"),
        ".htm": LoaderSpec("html", f"{_PKG}.html:load_html"),
        ".pdf": LoaderSpec("pdf", f"{_PKG}.pdf:load_pdf"),
        ".docx": LoaderSpec("docx", f"{_PKG}.docx:load_docx"),
    }
)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_REGISTRY)
"""Lower-case extensions, with the dot, that :func:`load_file` accepts."""


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def load_file(path: Path, doc_id: str, *, max_bytes: int, tags: tuple[str, ...] = ()) -> Document:
    """Load one file; raises an :class:`IngestError` subclass with a one-line reason if it cannot be indexed.

    ``tags`` are added to any the file declares itself (Markdown front matter), without duplicates. The size is
    checked from the file system before a byte is read, so a huge file costs nothing.
    """
    source = str(path)
    ext = path.suffix.lower()
    spec = _REGISTRY.get(ext)
    if spec is None:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise UnsupportedFileError(source, f"unsupported file type '{ext or path.name}' (supported: {supported})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLargeError(source, f"file is {_megabytes(size)}, over the {_megabytes(max_bytes)} limit")
        if size == 0:
            raise EmptyDocumentError(source, "file is empty")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(source, f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew between stat and read
        raise FileTooLargeError(source, f"file is {_megabytes(len(data))}, over the {_megabytes(max_bytes)} limit")

    extracted = spec.resolve()(data, source)
    if not extracted.text.strip() or not extracted.sections:
        raise EmptyDocumentError(source, "no text left after extraction")
    title = " ".join(clean_text(extracted.title or "").split()) or path.stem
    return Document(
        doc_id=doc_id,
        source=str(path.resolve()),
        file_type=spec.file_type,
        title=title,
        text=extracted.text,
        sections=extracted.sections,
        content_hash=source_hash(data),
        tags=tuple(dict.fromkeys((*extracted.tags, *tags))),
        metadata=extracted.metadata,
        source_map=extracted.source_map,
        original=_original(spec.file_type, data, extracted),
    )


def _original(file_type: str, data: bytes, extracted: Extracted) -> Original | None:
    """What a citation viewer needs of this file: the PDF itself, or the decoded text the source map indexes."""
    if extracted.source_map is None:
        return None
    if file_type == "pdf":
        return Original(Original.PDF, data)
    if extracted.source_text is not None:
        return Original(Original.TEXT, extracted.source_text.encode("utf-8", "replace"))
    return None
