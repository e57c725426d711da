"""`ragwright bench retrieval --store postgresql://... --vectors-from index.sqlite`: the same figures as on SQLite,
from the same vectors, with nothing embedded again (the SciFact/XQuAD parity runs in miniature)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ragwright.bench.retrieval import run_retrieval_bench
from ragwright.config import Settings
from ragwright.testing.fakes import FakeEmbedder
from tests.bench.test_benches import make_beir


class CountingEmbedder(FakeEmbedder):
    """FakeEmbedder that counts the texts it embeds (queries apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.embedded += len(texts)
        return super().embed(texts)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        vec: npt.NDArray[np.float32] = FakeEmbedder.embed(self, [text])[0]
        return vec


def test_postgres_run_reuses_the_sqlite_vectors_and_gives_the_same_figures(
    tmp_path: Path, settings: Settings, fresh_postgres_dsn: str
) -> None:
    beir = make_beir(tmp_path / "tiny")
    kept = tmp_path / "kept"
    first = CountingEmbedder()
    on_sqlite = run_retrieval_bench(beir, settings=settings, mode="hybrid", index=kept, embedder=first)
    assert first.embedded >= 60 and on_sqlite["store"] == "sqlite"

    second = CountingEmbedder()
    on_postgres = run_retrieval_bench(
        beir,
        settings=settings.model_copy(update={"store": fresh_postgres_dsn}),
        mode="hybrid",
        embedder=second,
        vectors_from=kept / "index.sqlite",
    )
    assert second.embedded == 0  # every chunk vector came from the kept index
    assert on_postgres["store"] == "postgresql" and on_postgres["ingest"]["chunks"] == on_sqlite["ingest"]["chunks"]
    # FakeEmbedder's hashed bag-of-words vectors tie often, and pgvector's cosine (double) and SQLite's float32 scan
    # round ties differently; the real parity check is SciFact's 0.002 (docs/postgres.md)
    for name, value in on_sqlite["metrics"].items():
        assert abs(on_postgres["metrics"][name] - value) <= 0.005, name
