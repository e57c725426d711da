"""Fusion arithmetic, and the retriever's modes, filters and dense fill-in on a real store with the fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.errors import UserError
from ragwright.retrieval.fusion import convex, minmax, rrf, zscore
from ragwright.store.base import Filters
from tests.conftest import write


def test_zscore_and_minmax_normalise_and_handle_constant_lists() -> None:
    assert zscore({"a": 1.0, "b": 3.0}) == {"a": -1.0, "b": 1.0}
    assert zscore({"a": 2.0, "b": 2.0}) == {"a": 0.0, "b": 0.0}
    assert minmax({"a": 1.0, "b": 3.0, "c": 2.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}


def test_convex_gives_missing_ids_the_list_floor() -> None:
    fused = convex({"a": 10.0, "b": 5.0}, {"b": 0.9, "c": 0.5}, 0.5, "minmax")
    # a: kw 1, dense floor 0 -> 0.5; b: kw 0, dense 1 -> 0.5; c: kw floor 0, dense 0 -> 0
    assert fused == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})
    only_kw = convex({"a": 2.0, "b": 1.0}, {}, 0.6, "zscore")
    assert only_kw["a"] > only_kw["b"]


def test_rrf_orders_by_reciprocal_ranks() -> None:
    fused = rrf({"a": 3.0, "b": 2.0}, {"b": 9.0, "a": 1.0}, k=60)
    assert fused["a"] == pytest.approx(fused["b"])


def test_modes_filters_and_timings(rw: Ragwright, tmp_path: Path) -> None:
    write(tmp_path / "docs/solar.md", "# Solar\n\n## Panels\n\nMonocrystalline panels convert sunlight efficiently.")
    write(tmp_path / "docs/wind.md", "# Wind\n\n## Turbines\n\nTurbines convert wind into electricity.")
    write(tmp_path / "notes/solar.txt", "Panels on the roof were cleaned in May.")
    rw.ingest([tmp_path / "docs", tmp_path / "notes"])
    for mode in ("bm25", "dense", "hybrid"):
        result = rw.search("solar panels", mode=mode, k=2)  # type: ignore[arg-type]
        assert result.hits and result.hits[0].chunk.doc_path in {"docs/solar.md", "notes/solar.txt"}
        assert result.timings_ms["total"] > 0
    hybrid = rw.search("panels convert sunlight", k=3)
    top = hybrid.hits[0]
    assert top.chunk.doc_path == "docs/solar.md" and top.bm25 is not None and top.dense is not None
    assert all(h.dense is not None for h in hybrid.hits if h.bm25 is not None)  # dense filled in for bm25 hits
    only_notes = rw.search("panels", filters=Filters(paths=("notes/*",)))
    assert {h.chunk.doc_path for h in only_notes.hits} == {"notes/solar.txt"}
    with pytest.raises(UserError):
        rw.search("  ")
