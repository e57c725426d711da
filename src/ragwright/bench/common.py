"""Shared pieces of the benchmarks: fresh indexes, latency percentiles, JSON output."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.models.base import Embedder


@contextmanager
def index_dir(path: Path | None) -> Iterator[Path]:
    """The given directory (kept, so a re-run re-embeds nothing), or a fresh temporary one (deleted)."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ragwright-bench-") as tmp:
        yield Path(tmp)


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

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)
