"""The data that flows from loaders through the chunker into the store.

A loader turns one source into a :class:`Document`: its full text plus the structure that citations point to
(`Section`: heading path and page). The chunker cuts a document into :class:`Chunk` objects whose ``id`` is the hash of
exactly what gets embedded, so an unchanged chunk never needs embedding twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A structural unit of a document: a Markdown/HTML section under a heading path, a PDF page, a paragraph run.

    ``start``/``end`` are character offsets into :attr:`Document.text`.
    """

    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass(slots=True)
class Document:
    """One source, loaded.

    Example::

        doc = Document(doc_id="guide.md", source="/abs/guide.md", file_type="md", title="Guide",
                       text="# Guide\\nHello", sections=[Section(0, 13, ("Guide",))], content_hash="…")
    """

    doc_id: str
    """Stable identity within a tenant: the path relative to the ingest root for files, the `_id` for BEIR records."""
    source: str
    """Where it came from (absolute path, or `corpus.jsonl#id`)."""
    file_type: str
    title: str
    text: str
    sections: list[Section]
    content_hash: str
    """sha256 of the raw bytes (or record); equal hashes mean nothing to re-index."""
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable, citable piece of a document.

    ``text`` is the exact span ``document.text[char_start:char_end]``, which is what a citation quotes;
    ``context`` is what is prepended when embedding and keyword-indexing (title and heading path), so a chunk that says
    "Run it with --force" is still found by a question about the section it sits in.
    """

    id: str
    doc_id: str
    ordinal: int
    text: str
    context: str
    char_start: int
    char_end: int
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    n_tokens: int = 0

    @property
    def indexed_text(self) -> str:
        """What the embedder and the keyword index see."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def text_hash(self) -> str:
        """Hash of exactly what is embedded: equal hashes share one embedding, whatever document they sit in."""
        return text_hash(self.indexed_text)

    @staticmethod
    def make_id(doc_id: str, ordinal: int, indexed_text: str) -> str:
        """Content hash that is unique within a tenant: the document, the position and the indexed text."""
        key = f"{doc_id}\0{ordinal}\0{indexed_text}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def text_hash(indexed_text: str) -> str:
    return hashlib.sha256(indexed_text.encode("utf-8")).hexdigest()[:32]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
