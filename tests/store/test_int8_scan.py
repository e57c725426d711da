"""The int8 dense scan (ragwright.store.int8_scan) returns exactly the float32 top-k, or declines to answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragwright.store.dense_cache import DenseEntry
from ragwright.store.int8_scan import MIN_ROWS, Int8Scan, exact_top
from ragwright.store.sqlite import SQLiteStore
from ragwright.testing.store_contract import make_doc

DIM = 64


def clustered(rows: int, seed: int = 3) -> np.ndarray:
    """Unit vectors around 40 topics, like embeddings of documents on a few subjects."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM))
    m = centres[rng.integers(0, 40, rows)] + 0.8 * rng.standard_normal((rows, DIM))
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def queries(matrix: np.ndarray, n: int, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for row in rng.integers(0, len(matrix), n):
        q = matrix[row] + 0.5 * rng.standard_normal(DIM).astype(np.float32)
        out.append((q / np.linalg.norm(q)).astype(np.float32))
    return out


def test_int8_scores_stay_within_the_bound() -> None:
    m = clustered(3000)
    scan = Int8Scan(m)
    for q in queries(m, 50):
        err = np.abs(scan.scores(q) - m @ q).max()
        assert err <= scan.error_bound(q)
        assert err > 0  # really the integer path, not the float product


@pytest.mark.parametrize("k", [1, 10, 100])
def test_certified_answers_equal_the_float32_scan(k: int) -> None:
    m = clustered(4000)
    scan = Int8Scan(m)
    certified = 0
    for q in queries(m, 60):
        found = scan.top(m, q, k)
        rows, scores = exact_top(m, q, k)
        if found is None:
            continue
        certified += 1
        np.testing.assert_array_equal(found[0], rows)
        np.testing.assert_allclose(found[1], scores, rtol=1e-5, atol=1e-6)
    assert certified >= 45  # the int8 pass must actually serve most queries, or it is only overhead


def test_near_ties_are_not_certified_and_fall_back_exactly() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal(DIM).astype(np.float32)
    m = base + 1e-3 * rng.standard_normal((3000, DIM)).astype(np.float32)  # 3,000 near-copies of one vector
    m = (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)
    q = (base / np.linalg.norm(base)).astype(np.float32)
    assert Int8Scan(m).top(m, q, 10) is None  # int8 cannot order these: it must say so
    entry = DenseEntry(version=1, rowids=np.arange(len(m), dtype=np.int64), matrix=m)
    rows, scores = entry.top(q, 10)
    expected_rows, expected_scores = exact_top(m, q, 10)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores)


def test_small_and_too_deep_searches_use_the_float32_product() -> None:
    m = clustered(MIN_ROWS - 1)
    entry = DenseEntry(version=1, rowids=np.arange(len(m), dtype=np.int64), matrix=m)
    entry.top(queries(m, 1)[0], 10)
    assert entry._scan is None
    big = clustered(MIN_ROWS)
    assert Int8Scan(big).top(big, queries(big, 1)[0], MIN_ROWS // 4) is None  # 4k candidates would be every row


def test_store_vector_search_over_the_int8_path(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "index.sqlite")
    try:
        texts = [f"chunk {i}" for i in range(MIN_ROWS + 100)]
        doc, chunks, _ = make_doc("big.md", texts)
        vectors = clustered(len(chunks))
        store.bind_embedder("test", DIM)
        store.upsert("t1", doc, chunks, vectors)
        for q in queries(vectors, 20):
            hits = store.vector_search("t1", q, 25)
            rows, scores = exact_top(vectors, q, 25)
            assert [h.chunk_id for h in hits] == [chunks[i].id for i in rows.tolist()]
            np.testing.assert_allclose([h.score for h in hits], scores, rtol=1e-5, atol=1e-6)
        entry = store._dense._entries["t1"]
        assert entry._scan is not None  # the searches above went through the int8 pass
    finally:
        store.close()
