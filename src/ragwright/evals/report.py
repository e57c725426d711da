"""`ragwright eval report`: one self-contained HTML file per run.

Summary, per-tag breakdown, score distributions drawn as inline SVG bar charts generated here (no CDN, no script,
nothing fetched at view time), and the failing cases with question, retrieved passages, answer and the judge's
reasons. Every string from the run is HTML-escaped: questions and passages are data.

Example::

    Path("report.html").write_text(render_html(load_run(Path("runs/base.json"))))
"""

from __future__ import annotations

import html

from ragwright.evals.records import CaseRecord, EvalRun, MetricSummary, RunSummary

__all__ = ["BAR_COLOUR", "KEY_METRICS", "failing_cases", "histogram_svg", "reliability_svg", "render_html"]

BAR_COLOUR = "#2f6fde"
KEY_METRICS = (
    "ndcg@10",
    "recall@10",
    "mrr@10",
    "hit@1",
    "em",
    "f1",
    "containment",
    "abstention_accuracy",
    "citation_coverage",
    "faithfulness",
    "citation_precision",
    "answer_relevance",
)
FAIL_BELOW = 0.5
"""A case is shown as failing when one of these metrics scores under this, or any metric errored."""
FAIL_METRICS = ("abstention_accuracy", "hit@10", "f1", "faithfulness", "citation_precision", "answer_relevance")
EXTRACTIVE_FAIL_METRICS = tuple("containment" if m == "f1" else m for m in FAIL_METRICS)
"""For extractive answers (whole quoted sentences) F1 against a short reference span is low even when the answer is
right; such a case fails on answer containment instead."""
MAX_FAILING = 100

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #dde;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eef;text-align:right}
td:first-child,th:first-child{text-align:left}.err{color:#b3261e;font-weight:600}.muted{color:#667}
.note{background:#fff6dd;border:1px solid #e8d38a;padding:8px 12px;border-radius:4px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #e3e6ee;border-radius:4px;padding:6px}
.case{border:1px solid #e3e6ee;border-radius:4px;padding:10px 14px;margin:12px 0}
.case h3{font-size:15px;margin:0 0 6px}.passage{font-size:13px;margin:4px 0 4px 12px;color:#333}
.rel{border-left:3px solid #2e7d32;padding-left:6px}.reason{font-size:13px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def histogram_svg(
    values: list[float],
    *,
    title: str,
    lo: float = 0.0,
    hi: float = 1.0,
    bins: int = 10,
    width: int = 320,
    height: int = 170,
) -> str:
    """A bar chart of ``values`` in ``bins`` equal bins over [lo, hi] (the last bin includes ``hi``)."""
    counts = [0] * bins
    span = (hi - lo) or 1.0
    for v in values:
        i = min(int((v - lo) / span * bins), bins - 1)
        counts[max(i, 0)] += 1
    top, left, bottom = 22, 34, 26
    plot_w, plot_h = width - left - 16, height - top - bottom
    peak = max(counts) or 1
    bar_w = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)} distribution">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">{_e(title)} '
        f'<tspan fill="#667" font-weight="400">(n={len(values)})</tspan></text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#99a"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x = left + i * bar_w + 1
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{h:.1f}" fill="{BAR_COLOUR}"><title>{lo + i * span / bins:.3g}–'
            f"{lo + (i + 1) * span / bins:.3g}: {c}</title></rect>"
        )
    for frac in (0.0, 0.5, 1.0):
        tick = lo + frac * span
        parts.append(
            f'<text x="{left + frac * plot_w:.1f}" y="{height - 8}" font-size="10" text-anchor="middle">'
            f"{tick:.0f}</text>"
            if span > 100
            else f'<text x="{left + frac * plot_w:.1f}" y="{height - 8}" font-size="10" text-anchor="middle">'
            f"{tick:.3g}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def reliability_svg(run: EvalRun, *, width: int = 320, height: int = 240) -> str:
    """The reliability diagram of the answerability: per bin of predicted probability, the share of cases labelled
    answerable (dots, area ~ cases), against the diagonal of perfect calibration; empty when no case has one."""
    from ragwright.evals.abstention import reliability

    pairs = [(r.answerability, r.answerable) for r in run.cases if r.answerability is not None]
    if not pairs:
        return ""
    bins = reliability([p for p, _ in pairs], [a for _, a in pairs])
    top, left, bottom, right = 22, 34, 30, 12
    pw, ph = width - left - right, height - top - bottom

    def xy(px: float, py: float) -> tuple[float, float]:
        return left + px * pw, top + (1.0 - py) * ph

    x0, y0 = xy(0, 0)
    x1, y1 = xy(1, 1)
    peak = max(b.n for b in bins)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="reliability" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="answerability reliability diagram">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">answerability: predicted vs observed '
        f'<tspan fill="#667" font-weight="400">(n={len(pairs)})</tspan></text>',
        f'<rect x="{x0}" y="{y1}" width="{pw}" height="{ph}" fill="none" stroke="#99a"/>',
        f'<line class="diagonal" x1="{x0}" y1="{y0}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#bbb" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{left + pw / 2:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">predicted</text>',
        f'<text x="{left - 4}" y="{y1 + 4}" font-size="10" text-anchor="end">1</text>',
        f'<text x="{left - 4}" y="{y0}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{x0}" y="{y0 + 12}" font-size="10" text-anchor="middle">0</text>',
        f'<text x="{x1:.1f}" y="{y0 + 12}" font-size="10" text-anchor="middle">1</text>',
    ]
    points = [xy(b.predicted, b.observed) for b in bins]
    parts.append(
        '<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>'.format(
            BAR_COLOUR, " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        )
    )
    for b, (x, y) in zip(bins, points, strict=True):
        r = 2.5 + 5.0 * (b.n / peak) ** 0.5
        parts.append(
            f'<circle class="bin" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{BAR_COLOUR}"><title>'
            f"{b.lo:.1f}–{b.hi:.1f}: {b.n} cases, predicted {b.predicted:.2f}, answerable {b.observed:.2f}"
            "</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def failing_cases(run: EvalRun) -> list[CaseRecord]:
    """Cases with a pipeline error, a metric error, or a key metric under ``FAIL_BELOW``, worst first."""
    out = []
    for rec in run.cases:
        extractive = rec.answered_by.startswith("extractive") and "containment" in rec.scores
        metrics = EXTRACTIVE_FAIL_METRICS if extractive else FAIL_METRICS
        low = [v for m in metrics if (v := rec.value(m)) is not None and v < FAIL_BELOW]
        errors = rec.error is not None or any(s.error for s in rec.scores.values())
        if low or errors:
            out.append((0.0 if errors else min(low), rec))
    out.sort(key=lambda pair: pair[0])
    return [rec for _, rec in out]


def _summary_table(summary: RunSummary) -> str:
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{_fmt(m.mean)}</td><td>{m.n}</td>"
        f'<td class="{"err" if m.errors else ""}">{m.errors}</td><td class="muted">'
        f"{_e('; '.join(m.error_examples))}</td></tr>"
        for name, m in summary.metrics.items()
    )
    return f"<table><tr><th>metric</th><th>mean</th><th>n</th><th>errors</th><th>first errors</th></tr>{rows}</table>"


def _tag_table(summary: RunSummary, metrics: list[str]) -> str:
    tags = sorted(summary.by_tag.items(), key=lambda kv: -kv[1].cases)[:40]
    head = "".join(f"<th>{_e(m)}</th>" for m in metrics)
    rows = []
    for tag, entry in tags:
        cells = "".join(f"<td>{_fmt(_mean(entry.metrics, m))}</td>" for m in metrics)
        rows.append(f"<tr><td>{_e(tag)}</td><td>{entry.cases}</td>{cells}</tr>")
    return f"<table><tr><th>tag</th><th>cases</th>{head}</tr>{''.join(rows)}</table>"


def _mean(metrics: dict[str, MetricSummary], name: str) -> float | None:
    entry = metrics.get(name)
    return entry.mean if entry is not None else None


def _case_html(rec: CaseRecord) -> str:
    relevant = {c.doc for c in rec.citations}
    parts = [f'<div class="case"><h3>{_e(rec.id)}: {_e(rec.question)}</h3>']
    if rec.tags:
        parts.append(f'<div class="muted">tags: {_e(", ".join(rec.tags))}</div>')
    if rec.error is not None:
        parts.append(f'<div class="err">pipeline error: {_e(rec.error)}</div></div>')
        return "".join(parts)
    if rec.reference_answer:
        parts.append(f"<div><b>reference:</b> {_e(rec.reference_answer)}</div>")
    label = "abstained" if rec.abstained else "answer"
    parts.append(f"<div><b>{label}:</b> {_e(rec.answer)}</div><div><b>scores:</b><ul>")
    for name, s in rec.scores.items():
        value = f'<span class="err">error: {_e(s.error)}</span>' if s.error else _fmt(s.value)
        why = f' <span class="reason muted">— {_e(s.reason)}</span>' if s.reason else ""
        parts.append(f"<li>{_e(name)}: {value}{why}</li>")
    parts.append("</ul></div><div><b>retrieved passages:</b>")
    for i, p in enumerate(rec.retrieved[:5], start=1):
        cls = "passage rel" if p.doc in relevant else "passage"
        parts.append(f'<div class="{cls}">{i}. <b>{_e(p.doc)}</b> ({p.score:.3f}): {_e(p.text)}</div>')
    parts.append("</div></div>")
    return "".join(parts)


def render_html(run: EvalRun) -> str:
    summary = run.summary
    config = run.config
    present = [m for m in KEY_METRICS if m in summary.metrics and summary.metrics[m].n]
    charts = []
    for m in present:
        values = [v for r in run.cases if (v := r.value(m)) is not None]
        charts.append(f'<div class="chart">{histogram_svg(values, title=m)}</div>')
    latencies = [r.pipeline_ms for r in run.cases if r.error is None]
    if latencies:
        charts.append(f'<div class="chart">{histogram_svg(latencies, title="latency ms", hi=max(latencies))}</div>')
    diagram = reliability_svg(run)
    if diagram:
        charts.append(f'<div class="chart">{diagram}</div>')
    failing = failing_cases(run)
    lat, judge = summary.latency_ms, summary.judge
    retrieval = config.get("retrieval", {})
    note = f'<p class="note">{_e(run.judge_note)}</p>' if run.judge_note else ""
    versions = ", ".join(f"{k}={v}" for k, v in run.prompt_versions.items())
    return "".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            f"<title>ragwright eval: {_e(run.name)}</title><style>{_CSS}</style></head><body>",
            f"<h1>Evaluation report: {_e(run.name)}</h1>",
            f'<p class="muted">dataset {_e(run.dataset)} · finished {_e(run.finished_at)} · '
            f"retrieval {_e(retrieval.get('mode', '?'))} · "
            f"embedder {_e(config.get('embedding', {}).get('model', '?'))} "
            f"· judge {_e(config.get('judge') or 'none')}</p>",
            note,
            "<h2>Summary</h2>",
            f"<p>{summary.cases} cases · {summary.abstained} abstained · {summary.pipeline_errors} pipeline "
            f"errors · latency p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms · judge {judge.calls} calls "
            f"({judge.cached} cached), ${judge.cost_usd:.4f}; per 1,000 questions "
            f"{judge.tokens_per_1k_questions:.0f} tokens, ${judge.cost_per_1k_questions_usd:.4f}</p>",
            _summary_table(summary),
            "<h2>Score distributions</h2>",
            f'<div class="charts">{"".join(charts)}</div>',
            "<h2>By tag</h2>",
            _tag_table(summary, present),
            f"<h2>Failing cases ({len(failing)}{f', first {MAX_FAILING} shown' if len(failing) > MAX_FAILING else ''})"
            "</h2>",
            f'<p class="muted">A case fails when a metric errored or one of {", ".join(FAIL_METRICS)} is under '
            f"{FAIL_BELOW} (containment instead of f1 for extractive answers). Passages of cited documents are marked "
            "green.</p>",
            "".join(_case_html(rec) for rec in failing[:MAX_FAILING]) or "<p>None.</p>",
            f'<h2>Versions</h2><p class="muted">{_e(versions)}</p>',
            "</body></html>\n",
        ]
    )
