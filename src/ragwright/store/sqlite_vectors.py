"""Vector lookups of the embedded store: sqlite-vec ANN queries, exact scoring of a set of rows, and rowid naming.

Vectors are read from the tenant's in-memory matrix (:mod:`ragwright.store.dense_cache`) when it is current, else
from the ``chunks_vec`` table. The caller holds the store's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.store.base import ScoredChunk
from ragwright.store.dense_cache import DenseCache
from ragwright.store.sql import read_vectors


def ann_search(db: Any, tenant: str, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
    """``(rowid, cosine similarity)`` of the ``k`` nearest vectors from sqlite-vec, best first."""
    rows = db.execute(
        "SELECT rowid, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ? AND tenant = ?",
        (query.tobytes(), k, tenant),
    ).fetchall()
    return [(int(r), 1.0 - float(d)) for r, d in rows]


def vectors_for_rowids(
    db: Any, dense: DenseCache, tenant: str, rowids: Sequence[int], dim: int
) -> tuple[list[int], npt.NDArray[np.float32]]:
    """The vectors of ``rowids`` that exist, as found ids and a matrix in the same order."""
    # Use the in-memory matrix only when it is current: reloading it here would make ingest quadratic, since
    # every upsert bumps the tenant's version and ingest looks up reusable vectors before each document.
    cached = dense.current(db, tenant)
    if cached is not None:
        position = cached.positions
        found = [r for r in rowids if r in position]
        return found, cached.matrix[[position[r] for r in found]] if found else cached.matrix[:0]
    return read_vectors(db, tenant, rowids, dim)


def exact_search(
    db: Any, dense: DenseCache, tenant: str, query: npt.NDArray[np.float32], rowids: list[int], k: int, dim: int
) -> list[ScoredChunk]:
    """The ``k`` best of ``rowids`` by exact cosine similarity (vectors are stored normalised)."""
    if not rowids:
        return []
    ids, matrix = vectors_for_rowids(db, dense, tenant, rowids, dim)
    scores = matrix @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return to_chunk_ids(db, tenant, [(ids[i], float(scores[i])) for i in order])


def to_chunk_ids(db: Any, tenant: str, scored: list[tuple[int, float]]) -> list[ScoredChunk]:
    """Name scored rowids by chunk id, keeping their order; rows deleted meanwhile are dropped."""
    if not scored:
        return []
    marks = ",".join("?" * len(scored))
    mapping = dict(
        db.execute(
            f"SELECT id, chunk_id FROM chunks WHERE tenant = ? AND id IN ({marks})",
            (tenant, *[r for r, _ in scored]),
        ).fetchall()
    )
    return [ScoredChunk(mapping[r], s) for r, s in scored if r in mapping]
