"""Charts for the Operations pages as inline SVG rendered on the server: no script, no chart library, no CDN.

Each chart is an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>`` (the desc states the largest
values in words), every bar carries a ``<title>`` with its exact value, and the page shows the same numbers in a
table beside it: the chart is never the only way to read them. Colours come from the page's CSS (classes
``chart-bar``, ``chart-axis``) with ``currentColor`` text, so dark mode follows the system.

Example::

    svg = bar_chart([("openai:gpt-4o-mini", 1.25), ("local:smollm2", 0.0)], title="Cost by model",
                    fmt=lambda v: f"${v:.4f}", chart_id="cost-model")
    svg = column_chart([("2026-12-01", 3.0), ("2026-12-02", 5.0)], title="Cost by day", fmt=str, chart_id="day")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "column_chart"]

Fmt = Callable[[float], str]
_W = 640
_LABEL_CHARS = 28


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _describe(points: Sequence[tuple[str, float]], fmt: Fmt) -> str:
    if not points:
        return "No data."
    top = sorted(points, key=lambda p: -p[1])[:3]
    listed = "; ".join(f"{label}: {fmt(value)}" for label, value in top)
    return f"{len(points)} groups. Largest: {listed}."


def _frame(chart_id: str, title: str, desc: str, height: int, body: str) -> Markup:
    t, d = f"{chart_id}-title", f"{chart_id}-desc"
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(t)} {escape(d)}" '
        f'viewBox="0 0 {_W} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{escape(t)}">{escape(title)}</title>'
        f'<desc id="{escape(d)}">{escape(desc)}</desc>{body}</svg>'
    )


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, fmt: Fmt, chart_id: str, max_rows: int = 12) -> Markup:
    """Horizontal bars, one per group (the first ``max_rows``), label on the left, value on the right."""
    rows = list(rows)[:max_rows]
    row_h, label_w, value_w = 26, 200, 110
    height = max(row_h * len(rows), row_h) + 8
    top = max((v for _, v in rows), default=0.0)
    parts: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        width = 0.0 if top <= 0 else (_W - label_w - value_w) * max(value, 0.0) / top
        shown = escape(fmt(value))
        parts.append(
            f"<g><title>{escape(label)}: {shown}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="currentColor" font-size="13">'
            f"{escape(_short(label))}</text>"
            f'<rect class="chart-bar" x="{label_w}" y="{y + 4}" width="{max(width, 1.0):.1f}" height="{row_h - 8}" '
            f'rx="2" fill="#3f7bbf"></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 17}" fill="currentColor" font-size="13">{shown}</text></g>'
        )
    if not rows:
        parts.append('<text x="8" y="20" fill="currentColor" font-size="13">No data</text>')
    return _frame(chart_id, title, _describe(rows, fmt), height, "".join(parts))


def column_chart(points: Sequence[tuple[str, float]], *, title: str, fmt: Fmt, chart_id: str) -> Markup:
    """Vertical columns over time (one per day, oldest first), with the first and last labels on the axis."""
    points = list(points)
    height, base, left = 220, 190, 8
    top = max((v for _, v in points), default=0.0)
    n = max(len(points), 1)
    step = (_W - 2 * left) / n
    parts = [f'<line class="chart-axis" x1="{left}" y1="{base}" x2="{_W - left}" y2="{base}" stroke="currentColor" '
             f'stroke-width="1"></line>']  # fmt: skip
    for i, (label, value) in enumerate(points):
        h = 0.0 if top <= 0 else (base - 24) * max(value, 0.0) / top
        x = left + i * step + step * 0.15
        parts.append(
            f"<g><title>{escape(label)}: {escape(fmt(value))}</title>"
            f'<rect class="chart-bar" x="{x:.1f}" y="{base - max(h, 1.0):.1f}" width="{step * 0.7:.1f}" '
            f'height="{max(h, 1.0):.1f}" rx="2" fill="#3f7bbf"></rect></g>'
        )
    if points:
        parts.append(
            f'<text x="{left}" y="{base + 20}" fill="currentColor" font-size="13">{escape(points[0][0])}</text>'
        )
        if len(points) > 1:
            parts.append(
                f'<text x="{_W - left}" y="{base + 20}" text-anchor="end" fill="currentColor" font-size="13">'
                f"{escape(points[-1][0])}</text>"
            )
        parts.append(f'<text x="{left}" y="14" fill="currentColor" font-size="13">max {escape(fmt(top))}</text>')
    else:
        parts.append('<text x="8" y="20" fill="currentColor" font-size="13">No data</text>')
    return _frame(chart_id, title, _describe(points, fmt), height, "".join(parts))
