"""CPU cost of tracing per request, in process: the three spans of a proxy request (server, gateway request, attempt)
with ``[observability] tracing`` off (the shared no-op), with the SDK but no exporter, and with the local trace store.

    python bench/tracing_cost.py --out bench/results/tracing-cost.json

CPU time (``time.process_time``, every thread of the process, export included: each mode flushes before the clock
stops) per request, median of ``--rounds`` rounds of ``--requests`` requests, modes interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from ragwright.config import load_settings
from ragwright.observability import tracing

HEADERS = [(b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]


def one_request() -> None:
    with tracing.server_span("POST /v1/chat/completions", HEADERS, {"http.request.method": "POST"}):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "default"}
        with tracing.stage("chat default", attrs, kind=SpanKind.CLIENT):
            with tracing.stage("chat m", {"gen_ai.provider.name": "bench"}, kind=SpanKind.CLIENT) as span:
                headers: dict[str, str] = {}
                tracing.inject(headers)
                span.set_attributes({f"gen_ai.usage.k{i}": i for i in range(8)})


def measure(mode: str, n: int, data_dir: Path) -> float:
    if mode == "sdk-no-export":
        tracing.install(TracerProvider())
    else:
        tracing.configure(load_settings(data_dir=data_dir, observability={"tracing": mode}))
    started = time.process_time()
    for _ in range(n):
        one_request()
    tracing.flush()
    cost = (time.process_time() - started) / n * 1e6
    tracing.shutdown()
    return cost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    modes = ["off", "sdk-no-export", "local"]
    runs: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for mode in modes if r % 2 == 0 else reversed(modes):
                runs[mode].append(round(measure(mode, args.requests, Path(tmp)), 2))
    doc: dict[str, Any] = {
        "cpu_us_per_request": {m: statistics.median(v) for m, v in runs.items()},
        "runs": runs,
        "spans_per_request": 3,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "nice": os.nice(0),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc["cpu_us_per_request"]))


if __name__ == "__main__":
    main()
