"""A trace as a waterfall: one bar per span, indented under its parent, placed on the trace's time axis.

The web UI draws these bars server-side (no script): each :class:`Bar` says how far from the trace's start it begins
and how wide it is, both as a share of the whole trace, and how deep it sits in the span tree. Spans whose parent is
not in the trace (a client's ``traceparent``, a lost batch) are roots. Children follow their parent in start order,
so the rows read top to bottom as the request ran.

Example::

    view = trace_view(detail, fetch=None, scope=key.scope)
    for bar in waterfall(view.spans):
        print("  " * bar.depth, bar.name, f"{bar.offset:.0%}", f"{bar.width:.0%}")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_WIDTH", "Bar", "waterfall"]

MIN_WIDTH = 0.002
"""The narrowest bar (a share of the trace): a 0 ms span stays visible."""
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Bar:
    """One span's row: name, depth in the tree, start and duration (ms), and its place as shares of the trace."""

    span_id: str
    name: str
    depth: int
    start_ms: float
    duration_ms: float
    offset: float
    """Where the bar starts, from 0 (the trace's start) to 1 (its end)."""
    width: float
    """The bar's length as a share of the trace (at least :data:`MIN_WIDTH`, never past the end)."""
    status: str
    error: str | None


def waterfall(spans: Sequence[Mapping[str, Any]]) -> list[Bar]:
    """Bars for the spans of one trace (as :func:`~ragwright.observability.views.trace_view` returns them: ``span_id``,
    ``parent_id``, ``name``, ``start_ms``, ``duration_ms``, ``status``, ``error``), parents before their children."""
    if not spans:
        return []
    ids = {str(s["span_id"]) for s in spans}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for s in sorted(spans, key=lambda s: (float(s["start_ms"]), str(s["span_id"]))):
        parent = s.get("parent_id")
        children.setdefault(str(parent) if parent in ids else None, []).append(s)
    origin = min(float(s["start_ms"]) for s in spans)
    end = max(float(s["start_ms"]) + float(s["duration_ms"]) for s in spans)
    total = max(end - origin, 1e-9)
    out: list[Bar] = []
    seen: set[str] = set()
    stack: list[tuple[Mapping[str, Any], int]] = [(s, 0) for s in reversed(children.get(None, []))]
    while stack:
        s, depth = stack.pop()
        if str(s["span_id"]) in seen:  # a malformed trace (a span its own ancestor) still ends
            continue
        seen.add(str(s["span_id"]))
        start, duration = float(s["start_ms"]), float(s["duration_ms"])
        offset = min(max((start - origin) / total, 0.0), 1.0 - MIN_WIDTH)
        width = min(max(duration / total, MIN_WIDTH), 1.0 - offset)
        out.append(
            Bar(str(s["span_id"]), str(s["name"]), depth, start, duration, offset, width, str(s.get("status") or ""),
                s.get("error") or None)
        )  # fmt: skip
        kids = children.get(str(s["span_id"]), [])
        stack.extend((k, min(depth + 1, MAX_DEPTH)) for k in reversed(kids))
    return out
