"""Shared pieces of the benchmarks: fresh indexes, reused vectors, latency percentiles, JSON output."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.config import Settings
from ragwright.documents.model import text_hash
from ragwright.errors import ModelError, UserError
from ragwright.models.base import Embedder, TokenEmbedder, TokenVectors
from ragwright.store.base import Store

TENANT = "bench"
"""The tenant every benchmark indexes into."""


@contextmanager
def index_dir(path: Path | None) -> Iterator[Path]:
    """The given directory (kept, so a re-run re-embeds nothing), or a fresh temporary one (deleted)."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ragwright-bench-") as tmp:
        yield Path(tmp)


@contextmanager
def reused_vectors(path: Path | None, settings: Settings, embedder: Embedder | None) -> Iterator[Embedder | None]:
    """:class:`StoredVectors` over the SQLite index at ``path`` (closed afterwards), or ``embedder`` unchanged."""
    if path is None:
        yield embedder
        return
    from ragwright.models.registry import embedder_from_settings
    from ragwright.store.sqlite import SQLiteStore

    if not path.is_file():
        raise UserError(f"--vectors-from {path}: no such index file")
    source = SQLiteStore(path)
    try:
        yield StoredVectors(embedder or embedder_from_settings(settings.embedding, settings.gateway), source, TENANT)
    finally:
        source.close()


def store_kind(settings: Settings) -> str:
    """Which store a bench ran on, for its result JSON (never the DSN: it may hold a password)."""
    return "postgresql" if settings.uses_postgres else "sqlite"


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50": 0.0, "p95": 0.0}
    arr = np.asarray(seconds) * 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


class MemoEmbedder:
    """An embedder that remembers the vectors of texts it embedded (``embed`` only; queries pass through).

    The benchmarks ask many questions over the same passages, so the same evidence sentences come back again and
    again; embedding each once makes a run several times cheaper without changing what is measured (a sentence's
    vector does not depend on the batch it was embedded in, up to float rounding)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._memo: dict[str, npt.NDArray[np.float32]] = {}

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            for text, vec in zip(todo, self.inner.embed(todo), strict=True):
                self._memo[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self.inner.embed_query(text)

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """The inner embedder's token vectors (not remembered here: the aligner caches them)."""
        if not isinstance(self.inner, TokenEmbedder):
            raise ModelError(f"{self.inner.name} has no token vectors")
        return self.inner.embed_tokens(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class StoredVectors(MemoEmbedder):
    """An embedder that takes document vectors from an existing index, by the hash of the embedded text, and embeds
    only what that index lacks. Filling a second store through it gives it exactly the first store's vectors, so a
    comparison of stores measures the stores, not embedding noise (``ragwright bench retrieval --vectors-from``).

    Example::

        emb = StoredVectors(default_embedder(), SQLiteStore(Path("kept/index.sqlite")), tenant="bench")
    """

    def __init__(self, inner: Embedder, source: Store, tenant: str) -> None:
        if source.embedding_model not in (None, inner.name):
            raise UserError(f"the vectors' index was built with {source.embedding_model}, not {inner.name}")
        super().__init__(inner)
        self.source = source
        self.tenant = tenant
        self.reused = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        todo = {text_hash(t): t for t in texts if t not in self._memo}
        found = self.source.vectors_by_text_hash(self.tenant, list(todo)) if todo else {}
        for digest, vec in found.items():
            self._memo[todo[digest]] = vec
        self.reused += len(found)
        return super().embed(texts)
