"""The trace waterfall: bars in tree order, placed as shares of the trace, robust to odd traces."""

from __future__ import annotations

from typing import Any

from ragwright.observability.waterfall import MIN_WIDTH, waterfall


def _span(sid: str, parent: str | None, start: float, dur: float, name: str = "") -> dict[str, Any]:
    return {"span_id": sid, "parent_id": parent, "name": name or sid, "start_ms": start, "duration_ms": dur,
            "status": "ok", "error": None}  # fmt: skip


def test_children_follow_their_parent_in_start_order_with_depth_and_shares() -> None:
    spans = [
        _span("root", None, 0, 100),
        _span("chat", "root", 40, 60),
        _span("search", "root", 10, 20),
        _span("embed", "search", 10, 5),
    ]
    bars = waterfall(spans)
    assert [(b.name, b.depth) for b in bars] == [("root", 0), ("search", 1), ("embed", 2), ("chat", 1)]
    chat = bars[3]
    assert (chat.offset, chat.width) == (0.4, 0.6)
    assert bars[0].offset == 0 and bars[0].width == 1


def test_orphans_are_roots_zero_spans_stay_visible_and_cycles_end() -> None:
    spans = [
        _span("a", "missing-parent", 5, 0),
        _span("b", None, 0, 10),
        _span("loop", "loop", 2, 1),  # its own parent: never reached from a root, so not drawn, and no hang
    ]
    bars = waterfall(spans)
    assert [b.name for b in bars] == ["b", "a"]
    assert bars[1].width == MIN_WIDTH and bars[1].offset + bars[1].width <= 1
    assert waterfall([]) == []
