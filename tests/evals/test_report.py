"""The HTML report: content, escaping, and charts actually drawn by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ragwright.evals.records import CitedPassage, EvalRun, RetrievedPassage
from ragwright.evals.report import BAR_COLOUR, failing_cases, histogram_svg, render_html
from tests.evals.test_compare_gate import make_run

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _run() -> EvalRun:
    run = make_run(
        {"ndcg@10": [1.0, 0.5, 0.0, 1.0, 0.25, 0.75], "faithfulness": [1.0, 0.2, None, 1.0, 1.0, 0.9]},
        latency=[3.0, 4.0, 5.0, 6.0, 30.0, 7.0],
    )
    run.name, run.dataset, run.judge_note = "nightly", "cases.jsonl", None
    run.config = {"retrieval": {"mode": "hybrid"}, "embedding": {"model": "fake"}, "judge": "fake:judge"}
    for rec in run.cases:
        rec.answer = "Paris <b>is</b> the capital [1]."
        rec.abstained = False
        rec.reference_answer = "Paris"
        rec.citations = [CitedPassage(1, "d1", "c1", "s")]
        rec.retrieved = [RetrievedPassage("d1", "c1", 0.9, "<script>alert(1)</script>")]
    faithfulness = run.cases[1].scores["faithfulness"]
    run.cases[1].scores["faithfulness"] = replace(
        faithfulness, reason="unsupported: 'Paris is in Peru': the passage says France"
    )
    return run


def test_histogram_counts_every_value_into_its_bin() -> None:
    svg = histogram_svg([0.0, 0.05, 0.5, 1.0, 1.0, 1.0], title="x")
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 10 and heights[-1] == max(heights)
    assert heights[0] == pytest.approx(heights[-1] * 2 / 3, abs=0.1)
    assert heights[5] == pytest.approx(heights[-1] / 3, abs=0.1) and sum(1 for h in heights if h > 0) == 3


def test_report_shows_summary_tags_failing_cases_and_escapes_data() -> None:
    run = _run()
    page = render_html(run)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Paris &lt;b&gt;is&lt;/b&gt; the capital [1]." in page
    # the judge error first, then faithfulness 0.2; ndcg 0.25 alone is not a failure (hit@10 is the retrieval check)
    assert [r.id for r in failing_cases(run)] == ["c2", "c1"]
    assert "the passage says France" in page and "judge failed: x" in page
    assert page.count('class="hist"') == 3  # ndcg@10, faithfulness, latency
    assert "<h2>By tag</h2>" in page and "<td>t</td><td>6</td>" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched at view time


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    cmd = "command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)"
    done = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"chromium is not installed and could not be installed: {done.stderr.strip()[-300:]}")
    return found


def test_report_charts_are_drawn_in_headless_chromium(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(_run()), encoding="utf-8")
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', dom)
    assert len(bars) == 30 and sum(float(h) > 0 for h in bars) >= 10  # parsed by the browser, bars with height
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,1400", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    colours = image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24) or []
    target = tuple(int(BAR_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    painted = sum(n for n, rgb in colours if all(abs(a - b) <= 8 for a, b in zip(rgb, target, strict=True)))
    assert painted > 2000, f"only {painted} bar-coloured pixels on the screenshot"
