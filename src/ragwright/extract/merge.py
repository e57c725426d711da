"""Merging the results of a long document's chunks into one, field by field.

Each chunk of a long document is extracted on its own. For every top-level field of the schema, the merge takes:

- nothing stated in any chunk: ``None``;
- lists: the items of every chunk, in document order, each distinct item once (line items, authors, skills);
- objects: merged the same way, key by key;
- scalars: the value most chunks agree on; on a tie, the one stated first (a title or a total is usually stated
  once; a date repeated in a footer agrees with itself).

:func:`merge_results` also says which chunk each field was taken from, so its source span is searched there first.

Example::

    merge_results([{"total": None, "items": ["a"]}, {"total": "9.00", "items": ["a", "b"]}], ("total", "items"))
    # ({"total": "9.00", "items": ["a", "b"]}, {"total": 1, "items": 0})
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["is_empty", "merge_results"]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _merge_values(values: list[tuple[int, Any]]) -> tuple[Any, int]:
    """The merged value of one field and the index of the chunk it (or its first part) came from."""
    if all(isinstance(v, list) for _, v in values):
        seen: set[str] = set()
        items: list[Any] = []
        for _, v in values:
            for item in v:
                if _key(item) not in seen:
                    seen.add(_key(item))
                    items.append(item)
        return items, values[0][0]
    if all(isinstance(v, dict) for _, v in values):
        keys = list(dict.fromkeys(k for _, v in values for k in v))
        merged = {}
        for k in keys:
            present = [(i, v[k]) for i, v in values if k in v and not is_empty(v[k])]
            merged[k] = _merge_values(present)[0] if present else None
        return merged, values[0][0]
    counts = Counter(_key(v) for _, v in values)
    best = max(counts.values())
    for i, v in values:  # document order: the first of the most agreed-on values
        if counts[_key(v)] == best:
            return v, i
    raise AssertionError("unreachable")


def merge_results(results: Sequence[dict[str, Any]], fields: Sequence[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """One result from the per-chunk ``results`` (document order), and the chunk each field came from."""
    merged: dict[str, Any] = {}
    origin: dict[str, int] = {}
    names = list(dict.fromkeys([*fields, *(k for r in results for k in r)]))
    for name in names:
        present = [(i, r[name]) for i, r in enumerate(results) if name in r and not is_empty(r[name])]
        if not present:
            merged[name] = None
            continue
        merged[name], origin[name] = _merge_values(present)
    return merged, origin
