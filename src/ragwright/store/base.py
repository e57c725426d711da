"""The `Store` seam: documents, chunks, keyword index and vectors behind one Protocol.

The tenant is a required positional argument of every read and write; an implementation must enforce it inside the
query itself (never by filtering results afterwards), and :class:`ragwright.testing.StoreContract` checks that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ragwright.answering.injection import InjectionKind
from ragwright.documents.model import Chunk, Document, Original, SourceMap
from ragwright.errors import InvalidFilterError

MAX_GLOB_CHARS = 2048
"""Longest path glob (SQLite refuses patterns over 50,000 bytes; a document id is far shorter)."""
MAX_GLOB_STARS = 32


def check_glob(glob: str) -> str:
    """``glob`` if it is a usable path filter, else :class:`InvalidFilterError` saying why. Every :class:`Filters`
    runs this, so a bad glob is the caller's error (HTTP 400, a tool error, a CLI line) wherever it comes from."""
    if not glob:
        raise InvalidFilterError("path filter is empty")
    if len(glob) > MAX_GLOB_CHARS:
        raise InvalidFilterError(f"path filter is {len(glob)} characters long; at most {MAX_GLOB_CHARS}")
    stars = glob.count("*")
    if stars > MAX_GLOB_STARS:
        raise InvalidFilterError(f"path filter has {stars} '*' wildcards; at most {MAX_GLOB_STARS}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in glob):
        raise InvalidFilterError("path filter contains a control character")
    return glob


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict a search. Empty fields do not restrict.

    ``paths`` are glob patterns matched against the document id (its path relative to the ingest root), ``file_types``
    are extensions without the dot, and a chunk passes ``tags`` when its document carries at least one of them.
    """

    paths: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for glob in self.paths:
            check_glob(glob)

    def __bool__(self) -> bool:
        return bool(self.paths or self.file_types or self.tags)


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as read back from the store, with the document fields a citation needs."""

    chunk: Chunk
    doc_path: str
    doc_title: str
    file_type: str
    tags: tuple[str, ...] = ()
    injection: InjectionKind | None = None
    """Set when the chunk's text addresses the assistant (flagged at ingest): it is shown, never used to answer."""

    def passage_json(self) -> dict[str, Any]:
        """The passage's fields as a search hit shows them after its rank, scores and document (CLI and HTTP)."""
        c = self.chunk
        return {
            "chunk_id": c.id,
            "title": self.doc_title,
            "heading_path": list(c.heading_path),
            "page": c.page,
            "char_start": c.char_start,
            "char_end": c.char_end,
            "text": c.text,
            "injection": self.injection.value if self.injection else None,
        }


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """One search result: a chunk id and the raw score of the index that produced it (higher is better)."""

    chunk_id: str
    score: float


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One stored document as listed: id, source, type, title, content hash, chunk count, tags."""

    doc_id: str
    source: str
    file_type: str
    title: str
    content_hash: str
    n_chunks: int
    tags: tuple[str, ...] = ()
    ingested_at: float = 0.0
    flagged_chunks: int = 0
    """How many of its chunks the injection flagger flagged."""


@dataclass(frozen=True, slots=True)
class StoredOriginal:
    """A document's :class:`~ragwright.documents.model.Original` as stored, with the map from its text into it."""

    original: Original
    source_map: SourceMap | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts for one tenant: documents, chunks, documents per file type, and the embedding model."""

    documents: int
    chunks: int
    embedding_model: str | None
    by_file_type: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """Where documents, chunks, the keyword index and vectors live.

    ``upsert`` replaces a document and all of its chunks atomically (one transaction); ``keyword_search`` ranks by
    BM25 over the analysed text of :attr:`Chunk.indexed_text`; ``vector_search`` ranks by cosine similarity.
    """

    bm25_k1: float
    bm25_b: float

    @property
    def embedding_model(self) -> str | None: ...

    @property
    def embedding_dim(self) -> int | None: ...

    def bind_embedder(self, name: str, dim: int) -> None:
        """Record the embedder on first use; raise StoreError if the index was built with another one."""
        ...

    def upsert(self, tenant: str, doc: Document, chunks: Sequence[Chunk], vectors: npt.NDArray[np.float32]) -> None: ...

    def delete(self, tenant: str, doc_id: str) -> bool: ...

    def keyword_search(self, tenant: str, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...

    def vector_search(
        self, tenant: str, vector: npt.NDArray[np.float32], k: int, filters: Filters | None = None
    ) -> list[ScoredChunk]: ...

    def get(self, tenant: str, chunk_ids: Sequence[str]) -> list[StoredChunk]: ...

    def get_vectors(self, tenant: str, chunk_ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]: ...

    def vectors_by_text_hash(self, tenant: str, text_hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]: ...

    def documents(
        self, tenant: str, *, after: str | None = None, limit: int | None = None, tags: tuple[str, ...] = ()
    ) -> list[DocumentInfo]:
        """The tenant's documents ordered by ``doc_id``. ``after`` and ``limit`` select a keyset page (ids greater
        than ``after``, at most ``limit``); ``tags`` keeps documents carrying at least one of them. Both are applied
        in the query itself, like the tenant."""
        ...

    def document(self, tenant: str, doc_id: str) -> DocumentInfo | None:
        """One of the tenant's documents by id, or None when the tenant has no such document (another tenant's
        document of the same id is never returned). A lookup by key: it does not list the tenant's documents.
        Callers that restrict by tags check ``DocumentInfo.tags`` themselves, like the other readers."""
        ...

    def original(self, tenant: str, doc_id: str) -> StoredOriginal | None:
        """What a citation viewer shows of one of the tenant's documents (the PDF, or the decoded text) and its
        source map; None when the document does not exist in this tenant or was stored without one. Callers that
        restrict by tags check the document's tags first (:meth:`document`)."""
        ...

    def chunks(self, tenant: str, doc_id: str) -> list[StoredChunk]:
        """Every chunk of one of the tenant's documents, in document order (``Chunk.ordinal``): how it was split.
        Empty when the tenant has no such document."""
        ...

    def set_tags(self, tenant: str, doc_id: str, tags: tuple[str, ...]) -> bool:
        """Replace one document's tags (searches filter on them from then on); False when the tenant has no such
        document. The tenant's version moves, so cached filter results are not reused."""
        ...

    def stats(self, tenant: str) -> StoreStats: ...

    def term_idf(self, tenant: str, terms: Sequence[str]) -> dict[str, float]:
        """BM25's IDF of analysed ``terms`` over the tenant's chunks (Lucene's, never negative; a term no chunk holds
        gets the largest value); empty when the tenant has no chunks. For answerability: how rare a question's words
        are in this corpus."""
        ...

    def close(self) -> None: ...
