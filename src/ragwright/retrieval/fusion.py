"""Fusing a keyword list and a dense list into one ranking: pure functions over ``{id: score}`` maps."""

from __future__ import annotations

from collections.abc import Mapping


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scale to [0, 1] within the list; a list of equal scores maps to 1.0 (all equally good)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi <= lo:
        return {k: 1.0 for k in scores}
    span = hi - lo
    return {k: (v - lo) / span for k, v in scores.items()}


def convex(keyword: Mapping[str, float], dense: Mapping[str, float], dense_weight: float) -> dict[str, float]:
    """Convex combination of min-max-normalised scores; an id missing from a list scores 0 there."""
    kw, dn = minmax(keyword), minmax(dense)
    w = dense_weight
    return {i: (1.0 - w) * kw.get(i, 0.0) + w * dn.get(i, 0.0) for i in kw.keys() | dn.keys()}


def rrf(*rankings: Mapping[str, float], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion (Cormack et al. 2009) over lists ranked by descending score."""
    fused: dict[str, float] = {}
    for scores in rankings:
        for rank, key in enumerate(sorted(scores, key=lambda x: -scores[x]), start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Descending by score, ties broken by id so results are deterministic."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
