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

__all__ = ["Fmt", "bar_chart", "column_chart"]

Fmt = Callable[[float], str]
_W = 640
_BAR_W = 360
"""Bar charts sit in half-width cards: a narrower drawing keeps their text readable."""
_LABEL_CHARS = 17


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _describe(points: Sequence[tuple[str, float]], fmt: Fmt) -> str:
    if not points:
        return "No data."
    top = sorted(points, key=lambda p: -p[1])[:3]
    listed = "; ".join(f"{label}: {fmt(value)}" for label, value in top)
    return f"{len(points)} groups. Largest: {listed}."


def _frame(
    chart_id: str, title: str, desc: str, height: int, body: str, width: int = _W, *, stretch: bool = False
) -> Markup:
    t, d = f"{chart_id}-title", f"{chart_id}-desc"
    aspect = "none" if stretch else "xMinYMin meet"
    kind = "chart chart-stretch" if stretch else "chart"
    return Markup(
        f'<svg class="{kind}" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(t)} {escape(d)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="{aspect}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{escape(t)}">{escape(title)}</title>'
        f'<desc id="{escape(d)}">{escape(desc)}</desc>{body}</svg>'
    )


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, fmt: Fmt, chart_id: str, max_rows: int = 12) -> Markup:
    """Horizontal bars, one per group (the first ``max_rows``), label on the left, value on the right."""
    rows = list(rows)[:max_rows]
    row_h, label_w, value_w, width_all = 26, 130, 84, _BAR_W
    height = max(row_h * len(rows), row_h) + 8
    top = max((v for _, v in rows), default=0.0)
    parts: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        width = 0.0 if top <= 0 else (width_all - label_w - value_w) * max(value, 0.0) / top
        shown = escape(fmt(value))
        parts.append(
            f"<g><title>{escape(label)}: {shown}</title>"
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" fill="currentColor" font-size="13">'
            f"{escape(_short(label))}</text>"
            f'<rect class="chart-bar" x="{label_w}" y="{y + 4}" width="{max(width, 1.0):.1f}" height="{row_h - 8}" '
            f'rx="2" fill="#3f7bbf"></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 18}" fill="currentColor" font-size="13">{shown}</text></g>'
        )
    if not rows:
        parts.append('<text x="8" y="20" fill="currentColor" font-size="13">No data</text>')
    return _frame(chart_id, title, _describe(rows, fmt), height, "".join(parts), width_all)


def column_chart(points: Sequence[tuple[str, float]], *, title: str, fmt: Fmt, chart_id: str) -> Markup:
    """Vertical columns over time (one per day, oldest first). The drawing stretches to its box (CSS gives the height)
    and holds no text; the scale and the first and last day are HTML under it, so they stay readable at any width."""
    points = list(points)
    height, base = 200, 199
    top = max((v for _, v in points), default=0.0)
    n = max(len(points), 1)
    step = _W / n
    parts = [f'<line class="chart-axis" x1="0" y1="{base}" x2="{_W}" y2="{base}" stroke="currentColor" '
             f'stroke-width="1" vector-effect="non-scaling-stroke"></line>']  # fmt: skip
    for i, (label, value) in enumerate(points):
        h = 0.0 if top <= 0 else (base - 4) * max(value, 0.0) / top
        x = i * step + step * 0.15
        parts.append(
            f"<g><title>{escape(label)}: {escape(fmt(value))}</title>"
            f'<rect class="chart-bar" x="{x:.1f}" y="{base - max(h, 1.0):.1f}" width="{step * 0.7:.1f}" '
            f'height="{max(h, 1.0):.1f}" fill="#3f7bbf"></rect></g>'
        )
    svg = _frame(chart_id, title, _describe(points, fmt), height, "".join(parts), stretch=True)
    if not points:
        return Markup('<div class="column-chart">{}<p class="chart-scale">No data</p></div>').format(svg)
    first, last = points[0][0], points[-1][0]
    return Markup(
        '<div class="column-chart"><p class="chart-scale" aria-hidden="true">max {}</p>{}'
        '<p class="chart-days" aria-hidden="true"><span>{}</span><span>{}</span></p></div>'
    ).format(fmt(top), svg, first, last if len(points) > 1 else "")
