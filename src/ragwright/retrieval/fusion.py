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


def zscore(scores: Mapping[str, float]) -> dict[str, float]:
    """Standardise within the list: (score - mean) / std; a list of equal scores maps to 0."""
    if not scores:
        return {}
    values = list(scores.values())
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    if std == 0.0:
        return {k: 0.0 for k in scores}
    return {k: (v - mean) / std for k, v in scores.items()}


NORMALISERS = {"zscore": zscore, "minmax": minmax}


def convex(
    keyword: Mapping[str, float], dense: Mapping[str, float], dense_weight: float, normalise: str = "minmax"
) -> dict[str, float]:
    """Convex combination of normalised scores over the union of both lists.

    An id missing from a list takes that list's lowest score before normalising (it ranked below everything the
    list returned), so a candidate is never rewarded for being absent.
    """
    ids = keyword.keys() | dense.keys()
    norm = NORMALISERS[normalise]
    kw_floor = min(keyword.values(), default=0.0)
    dn_floor = min(dense.values(), default=0.0)
    kw = norm({i: keyword.get(i, kw_floor) for i in ids}) if keyword else dict.fromkeys(ids, 0.0)
    dn = norm({i: dense.get(i, dn_floor) for i in ids}) if dense else dict.fromkeys(ids, 0.0)
    w = dense_weight
    return {i: (1.0 - w) * kw[i] + w * dn[i] for i in ids}


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
