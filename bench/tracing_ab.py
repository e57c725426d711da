"""Interleaved A/B runs for the tracing overhead figures (``--tracing`` in serve_load.py and gateway_overhead.py).

Single runs vary by about ±5 % on the shared 2-core machine, more than the overhead being measured, so each figure is
the median over ``rounds`` of the per-round ratio ``throughput(mode) / throughput(off)``, with its spread, where each
round runs every mode once, in an order that alternates between rounds (so a drift in the machine's load does not
favour one mode).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from typing import Any


def interleave(
    modes: list[str], rounds: int, run: Callable[[str], float], log: Callable[[str], None]
) -> dict[str, Any]:
    """``run(mode)`` returns a throughput (requests/s); the result holds every run, the ratios and their spread."""
    if modes[0] != "off":
        raise SystemExit("the first mode of --compare must be 'off' (the baseline)")
    runs: dict[str, list[float]] = {m: [] for m in modes}
    loads: list[float] = []
    for r in range(rounds):
        order = modes if r % 2 == 0 else list(reversed(modes))
        for mode in order:
            rps = run(mode)
            runs[mode].append(rps)
            loads.append(round(os.getloadavg()[0], 2))
            log(f"round {r + 1}/{rounds} tracing={mode}: {rps:.1f} req/s (load {loads[-1]})")
    ratios = {m: [round(x / b, 4) for x, b in zip(runs[m], runs["off"], strict=True)] for m in modes if m != "off"}
    summary = {
        m: {
            "median_ratio": round(statistics.median(rs), 4),
            "min_ratio": min(rs),
            "max_ratio": max(rs),
            "median_cost_pct": round(100 * (1 - statistics.median(rs)), 2),
        }
        for m, rs in ratios.items()
    }
    return {
        "rounds": rounds,
        "rps": runs,
        "median_rps": {m: round(statistics.median(v), 1) for m, v in runs.items()},
        "ratios": ratios,
        "summary": summary,
        "loadavg_1m_per_run": loads,
    }
