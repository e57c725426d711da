"""Server-rendered SVG charts: well-formed, labelled for assistive technology, escaped, proportional."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ragwright.ui.ops_charts import bar_chart, column_chart

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bar_chart_is_labelled_escaped_and_proportional() -> None:
    rows = [("<script>x</script>", 2.0), ("b", 1.0), ("c", 0.0)]
    svg = bar_chart(rows, title="Cost & calls", fmt=lambda v: f"${v:.2f}", chart_id="cost")
    root = _parse(svg)  # well-formed XML: every label was escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "cost-title cost-desc"
    assert root.find(f"{NS}title").text == "Cost & calls"  # type: ignore[union-attr]
    desc = root.find(f"{NS}desc").text or ""  # type: ignore[union-attr]
    assert desc.startswith("3 groups. Largest: <script>x</script>: $2.00")
    widths = [float(r.get("width", "0")) for r in root.iter(f"{NS}rect")]
    assert widths[0] == 2 * widths[1] and widths[2] == 1.0  # a zero still shows a hairline
    assert "<script>" not in svg


def test_column_chart_puts_days_in_order_and_handles_no_data() -> None:
    html = column_chart([("2026-12-01", 1.0), ("2026-12-02", 3.0)], title="By day", fmt=str, chart_id="d")
    root = _parse(html)  # the chart and its HTML scale are one well-formed fragment
    svg = root.find(f"{NS}svg")
    assert svg is not None and svg.get("aria-labelledby") == "d-title d-desc"
    heights = [float(r.get("height", "0")) for r in svg.iter(f"{NS}rect")]
    assert heights[1] == pytest.approx(3 * heights[0], rel=0.01)
    assert [t.text for t in root.iter("span")] == ["2026-12-01", "2026-12-02"] and "max 3.0" in html
    assert "No data" in column_chart([], title="By day", fmt=str, chart_id="e")
    assert _parse(bar_chart([], title="t", fmt=str, chart_id="f")).find(f"{NS}desc").text == "No data."  # type: ignore[union-attr]
