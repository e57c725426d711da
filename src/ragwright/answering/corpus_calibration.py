"""Corpus self-calibration of answerability, without labels: how the features look on *this* corpus.

One operating point fails across corpora because the features shift with the corpus: on scientific abstracts an
answerable claim's support looks like an unanswerable question's on Wikipedia. This module measures the shift on the
user's own corpus, once per index (cached by the caller), with no labels:

1. sample up to ``n`` passages of the tenant's documents (deterministically, by hash: one passage of each of the
   ``n`` documents whose sha256(id) is smallest);
2. make a **pseudo-question** of one sentence of each: its content words, the rarest one dropped (as if it were the
   answer), the next rarest kept in sentence order ("tidal lock moon rotation period?");
3. retrieve it through the real pipeline and compute the answerability features twice: over the top hits (the
   source passage present: *pseudo-answerable*) and over the top hits without the source document (*related but
   absent*, the issue's own negative).

The result, :class:`CorpusCalibration`, holds per-feature means and spreads of the pooled sample; a model fitted on
features standardised this way (``bench/fit_answerability.py --calibrated``) reads each corpus on its own scale.

Example::

    calibration = calibrate(asker, "acme", n=200)
    calibration.mean, calibration.scale     # per feature, FEATURE_NAMES order minus alignment
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ragwright.answering.sentences import split_sentences
from ragwright.retrieval.analysis import analyze
from ragwright.store.base import Store

if TYPE_CHECKING:
    from ragwright.answering.service import Asker

__all__ = [
    "SAMPLE",
    "SCALINGS",
    "CalibrationCache",
    "CorpusCalibration",
    "calibrate",
    "pseudo_question",
    "rescale",
    "sample_passages",
]

SAMPLE = 200
"""Pseudo-questions per calibration: the bound on what it costs (2 evidence scorings, 1 search each)."""
KEEP = 6
"""Content words a pseudo-question keeps (after dropping its rarest)."""
MIN_WORDS = 3
_WORD = re.compile(r"[A-Za-z][\w'’-]*|\d[\d.,]*")
_PAGE = 1000


@dataclass(frozen=True)
class CorpusCalibration:
    """Per-feature statistics of one corpus's pseudo-questions (answerable and source-absent pooled)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    answerable_mean: np.ndarray
    absent_mean: np.ndarray
    n_answerable: int
    n_absent: int
    seconds: float = 0.0
    """Wall time the calibration took (searches and evidence scoring)."""
    key: dict[str, Any] = field(default_factory=dict)
    """What it was computed on (tenant's document and chunk counts, embedder): recompute when it changes."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "answerable_mean": [round(float(v), 8) for v in self.answerable_mean],
            "absent_mean": [round(float(v), 8) for v in self.absent_mean],
            "n_answerable": self.n_answerable,
            "n_absent": self.n_absent,
            "seconds": round(self.seconds, 3),
            "key": self.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusCalibration:
        mean, scale, pos, neg = (
            np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "answerable_mean", "absent_mean")
        )
        return cls(
            tuple(str(n) for n in data["features"]),
            mean,
            scale,
            pos,
            neg,
            n_answerable=int(data["n_answerable"]),
            n_absent=int(data["n_absent"]),
            seconds=float(data.get("seconds", 0.0)),
            key=dict(data.get("key", {})),
        )

    @classmethod
    def from_vectors(
        cls, names: tuple[str, ...], answerable: list[np.ndarray], absent: list[np.ndarray], **extra: Any
    ) -> CorpusCalibration:
        d = len(names)
        pos = np.array(answerable, dtype=np.float64).reshape(-1, d)
        neg = np.array(absent, dtype=np.float64).reshape(-1, d)
        pooled = np.vstack([pos, neg])
        if not len(pooled):
            zeros = np.zeros(d)
            return cls(names, zeros, np.ones(d), zeros, zeros, 0, 0, **extra)
        scale = pooled.std(axis=0)
        scale[scale < 1e-6] = 1.0
        return cls(
            names,
            pooled.mean(axis=0),
            scale,
            pos.mean(axis=0) if len(pos) else pooled.mean(axis=0),
            neg.mean(axis=0) if len(neg) else pooled.mean(axis=0),
            len(pos),
            len(neg),
            **extra,
        )


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def pseudo_question(sentence: str, idf: dict[str, float], keep: int = KEEP) -> str | None:
    """A question-like query from ``sentence``: its content words minus the rarest (the "answer"), the ``keep``
    rarest of the rest in sentence order. None when fewer than ``MIN_WORDS`` remain."""
    words: list[tuple[str, str]] = []  # (surface word, index term)
    for w in _WORD.findall(sentence):
        terms = analyze(w)
        if terms and len(w) > 1:
            words.append((w, terms[0]))
    distinct = sorted(dict.fromkeys(t for _, t in words), key=lambda t: (-idf.get(t, 0.0), t))
    if len(distinct) < MIN_WORDS + 1:
        return None
    kept = set(distinct[1 : 1 + keep])
    out: list[str] = []
    for w, t in words:
        if t in kept:
            out.append(w)
            kept.discard(t)
    return " ".join(out) + "?" if len(out) >= MIN_WORDS else None


def sample_passages(store: Store, tenant: str, n: int) -> Iterator[tuple[str, str]]:
    """(document id, sentence) from the tenant's documents in hash order (stable across runs), at most ``2 n`` of
    them (some give no usable sentence or question; the caller stops after ``n``): one chunk of each, and its
    longest sentence of at least 8 words."""
    ids: list[str] = []
    after: str | None = None
    while True:
        page = store.documents(tenant, after=after, limit=_PAGE)
        ids += [d.doc_id for d in page if d.n_chunks > 0]
        if len(page) < _PAGE:
            break
        after = page[-1].doc_id
    for doc_id in sorted(ids, key=_hash)[: n * 2]:
        chunks = [c for c in store.chunks(tenant, doc_id) if c.injection is None]
        if not chunks:
            continue
        chunk = min(chunks, key=lambda c: _hash(c.chunk.id)).chunk
        spans = [chunk.text[s:e] for s, e in split_sentences(chunk.text)]
        long = [s for s in spans if len(s.split()) >= 8]
        if long:
            yield doc_id, max(long, key=len)


def calibrate(asker: Asker, tenant: str, n: int = SAMPLE, names: tuple[str, ...] | None = None) -> CorpusCalibration:
    """Pseudo-question feature statistics of ``tenant``'s corpus (searched through ``asker``'s retriever)."""
    from ragwright.answering.features import ALIGNMENT_NAMES, FEATURE_NAMES

    names = names or tuple(f for f in FEATURE_NAMES if f not in ALIGNMENT_NAMES)
    index = [FEATURE_NAMES.index(f) for f in names]
    store = asker.retriever.store
    k = asker.settings.evidence_k
    clock = time.perf_counter()
    answerable: list[np.ndarray] = []
    absent: list[np.ndarray] = []
    asked = 0
    for doc_id, sentence in sample_passages(store, tenant, n):
        question = pseudo_question(sentence, store.term_idf(tenant, analyze(sentence)))
        if question is None:
            continue
        hits = asker.retriever.search(tenant, question, k=2 * k).hits
        top = hits[:k]
        if any(h.chunk.doc_path == doc_id for h in top):
            answerable.append(asker.evidence(tenant, question, top)[2].vector()[index])
        others = [h for h in hits if h.chunk.doc_path != doc_id][:k]
        absent.append(asker.evidence(tenant, question, others)[2].vector()[index])
        asked += 1
        if asked >= n:
            break
    stats = store.stats(tenant)
    key = {"tenant": tenant, "documents": stats.documents, "chunks": stats.chunks, "sample": n}
    return CorpusCalibration.from_vectors(names, answerable, absent, seconds=time.perf_counter() - clock, key=key)


SCALINGS = ("zscore", "center", "anchor")
"""How a calibrated model reads a feature: ``zscore`` (x − corpus mean) / corpus spread; ``center`` x − corpus mean;
``anchor`` (x − absent mean) / (answerable mean − absent mean), the spread where the two means are too close."""


def rescale(calibration: CorpusCalibration, names: tuple[str, ...], x: np.ndarray, scaling: str) -> np.ndarray:
    """``x`` (features ``names``, last axis) on ``calibration``'s corpus scale."""
    idx = [calibration.features.index(n) for n in names]
    if scaling == "anchor":
        span = calibration.answerable_mean[idx] - calibration.absent_mean[idx]
        span = np.where(np.abs(span) < 0.02, calibration.scale[idx], span)
        return np.asarray((x - calibration.absent_mean[idx]) / span, dtype=np.float64)
    centred = np.asarray(x - calibration.mean[idx], dtype=np.float64)
    return centred if scaling == "center" else np.asarray(centred / calibration.scale[idx], dtype=np.float64)


class CalibrationCache:
    """Calibrations by tenant, recomputed when the tenant's document or chunk count changes (one per app, so an
    index is calibrated once per process, not per question). Thread-safe; one tenant never sees another's."""

    def __init__(self, n: int = SAMPLE) -> None:
        self.n = n
        self._by_tenant: dict[str, CorpusCalibration] = {}
        self._lock = threading.Lock()

    def get(self, asker: Asker, tenant: str) -> CorpusCalibration:
        stats = asker.retriever.store.stats(tenant)
        with self._lock:
            cached = self._by_tenant.get(tenant)
        if cached is not None and (cached.key.get("documents"), cached.key.get("chunks")) == (
            stats.documents,
            stats.chunks,
        ):
            return cached
        fresh = calibrate(asker, tenant, self.n)  # outside the lock: other tenants are not held up
        with self._lock:
            self._by_tenant[tenant] = fresh
        return fresh
