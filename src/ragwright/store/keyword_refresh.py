"""Bring a held :class:`~ragwright.store.keyword_cache.KeywordEntry` to a newer version from what changed since.

A write changes a tenant's BM25 statistics (N, avgdl, the document frequency of every term it touches) and adds or
removes chunks; it leaves every other chunk's postings as they were. An entry keeps only those postings (weights are
computed per query from the statistics), so a refresh costs what changed, not the tenant's size:

- **added chunks** (higher rowids than every held row: a tenant's writes are serialised and take ids from one
  sequence) become new rows and a new :class:`~ragwright.store.keyword_cache.Segment` of postings;
- **removed chunks** are marked dead: their postings stay in memory but count in no document frequency and in no
  result;
- **statistics** (N, avgdl, each row's length normalisation) are taken from the same snapshot as the changes.

The result scores exactly like a fresh load of the same version: each chunk's postings are summed in the query's
term order either way, with the same weights (tests/store/test_postgres_refresh.py compares them). The store reads
the changes (:func:`ragwright.store.postgres_keywords.refresh_postgres`); this module is backend-neutral. The held
entry is never modified — searches may be reading it — a refreshed entry shares its unchanged arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ragwright.store.keyword_cache import ChunkRows, KeywordEntry, Postings, Segment, build_segment, row_norms

__all__ = ["Changes", "merge_segments", "refreshed"]

MAX_DEAD = 0.25
"""Above this share of dead rows a refresh gives up and the entry is reloaded (which drops them)."""
MAX_SEGMENTS = 8
"""More segments than this are merged (the later ones first; all of them once they hold a quarter of the postings)."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a tenant after a held entry's version, read in one snapshot: the statistics at
    :attr:`version`, the rowids removed (chunks the entry never held may be among them), the chunks added and still
    present (ascending rowids) and their postings."""

    version: int
    n_chunks: int
    n_terms: int
    removed: npt.NDArray[np.int64]
    added: ChunkRows
    postings: Postings


def refreshed(entry: KeywordEntry, changes: Changes) -> KeywordEntry | None:
    """``entry`` brought to ``changes.version``, or None when a reload is the better (or the only correct) way: the
    tenant is empty, an added chunk is not above every held row, or too many rows would be dead."""
    held, added = entry.rowids, changes.added
    if changes.n_chunks <= 0:
        return None
    if len(added.rowids) and len(held) and added.rowids[0] <= held[-1]:
        return None
    dead = np.zeros(len(held) + len(added.rowids), dtype=np.bool_)
    if entry.dead is not None:
        dead[: len(held)] = entry.dead
    if len(changes.removed):
        pos = np.searchsorted(held, changes.removed)
        found = pos < len(held)
        found[found] = held[pos[found]] == changes.removed[found]
        dead[pos[found]] = True
    n_dead = int(dead.sum())
    if n_dead > MAX_DEAD * len(dead):
        return None
    rowids = np.concatenate([held, added.rowids])
    lengths = np.concatenate([entry.dl, np.zeros(len(added.rowids), dtype=np.float64)])
    segment = build_segment(entry.params, rowids, lengths, changes.postings)
    new_docs = list(dict.fromkeys(added.doc_ids))  # appended even if a held name is among them: filters test names
    index = {d: len(entry.doc_ids) + i for i, d in enumerate(new_docs)}
    new_doc_of_row = np.fromiter((index[d] for d in added.doc_ids), dtype=np.int32, count=len(added.doc_ids))
    avgdl = changes.n_terms / changes.n_chunks
    return KeywordEntry(
        version=changes.version,
        params=entry.params,
        n_chunks=changes.n_chunks,
        avgdl=avgdl,
        rowids=rowids,
        chunk_ids=entry.chunk_ids + added.chunk_ids,
        doc_of_row=np.concatenate([entry.doc_of_row, new_doc_of_row]),
        doc_ids=entry.doc_ids + new_docs,
        dl=lengths,
        norm=row_norms(entry.params, avgdl, lengths),
        segments=_compacted((*entry.segments, segment) if segment.spans else entry.segments),
        dead=dead if n_dead else None,
    )


def _compacted(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    if len(segments) <= MAX_SEGMENTS:
        return segments
    tail = merge_segments(segments[1:])
    if 4 * len(tail.rows) >= len(segments[0].rows):
        return (merge_segments((segments[0], tail)),)
    return (segments[0], tail)


def merge_segments(segments: Sequence[Segment]) -> Segment:
    """One segment holding the postings of ``segments`` (whose rows ascend from one segment to the next), each term's
    postings still in row order."""
    spans: dict[Hashable, tuple[int, int]] = {}
    rows: list[npt.NDArray[np.int32]] = []
    tfs: list[npt.NDArray[np.float64]] = []
    pos = 0
    for term in dict.fromkeys(t for seg in segments for t in seg.spans):
        start = pos
        for seg in segments:
            span = seg.spans.get(term)
            if span is not None:
                rows.append(seg.rows[span[0] : span[1]])
                tfs.append(seg.tf[span[0] : span[1]])
                pos += span[1] - span[0]
        spans[term] = (start, pos)
    if not rows:
        return Segment({}, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64))
    return Segment(spans, np.concatenate(rows), np.concatenate(tfs))
