"""What the late-interaction alignment features add to one ``ask``, as a ratio in the same run.

Over a seeded sample of XQuAD-en questions on a kept index (``bench abstention``'s), each question is asked three
ways, in rotating order: without alignment, with alignment and an empty token cache (every passage encoded: the cost
for passages never seen before), and with the app's shared cache after one untimed ask of the same question (what a
server pays for passages asked about again). The untimed ask also caches the question's vector for all three.
The ask pipeline runs with the real MiniLM embedder (not the benchmarks' memo), so the evidence sentences are
embedded every time, as in production.

    python bench/alignment_cost.py --data ../shared/datasets/xquad-en/xquad.en.json \\
        --index bench/.cache/xquad-index --n 60 --out bench/results/alignment-cost.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from ragwright.answering.alignment import Aligner
from ragwright.answering.service import Asker
from ragwright.app import Ragwright
from ragwright.bench.abstention import load_abstention_set
from ragwright.bench.common import TENANT, write_json
from ragwright.config import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True, help="a kept XQuAD index (bench abstention --index)")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    _, questions = load_abstention_set("xquad", args.data)
    sample = random.Random(0).sample(questions, args.n)
    settings = Settings(data_dir=args.index)
    app = Ragwright(settings)
    try:
        answer = settings.answer
        plain = Asker(app.retriever, app.embedder, answer.model_copy(update={"alignment": False}))
        warm = Asker(app.retriever, app.embedder, answer.model_copy(update={"alignment": True}), aligner=app.aligner)
        plain.ask(TENANT, "warm-up question about anything")  # load the models before timing
        warm.ask(TENANT, "warm-up question about anything")
        ms: dict[str, list[float]] = {"off": [], "cold": [], "warm": [], "alignment_cold": [], "alignment_warm": []}
        for i, q in enumerate(sample):
            cold = Asker(app.retriever, app.embedder, answer.model_copy(update={"alignment": True}), aligner=None)
            assert isinstance(cold.aligner, Aligner)
            warm.ask(TENANT, q.question)  # untimed: its passages are now cached (and the query vector, for all three)
            runs = [("off", plain), ("cold", cold), ("warm", warm)]
            for name, asker in runs[i % 3 :] + runs[: i % 3]:
                clock = time.perf_counter()
                result = asker.ask(TENANT, q.question)
                ms[name].append((time.perf_counter() - clock) * 1000.0)
                if name != "off":
                    ms[f"alignment_{name}"].append(result.timings_ms["alignment"])
    finally:
        app.close()
    p50 = {k: round(float(np.percentile(v, 50)), 2) for k, v in ms.items()}
    report = {
        "n": len(sample),
        "ask_ms_p50": {k: p50[k] for k in ("off", "cold", "warm")},
        "alignment_ms_p50": {"cold": p50["alignment_cold"], "warm": p50["alignment_warm"]},
        "ratio_p50_vs_off": {k: round(p50[k] / p50["off"], 3) for k in ("cold", "warm")},
        "ratio_mean_vs_off": {k: round(float(np.mean(ms[k]) / np.mean(ms["off"])), 3) for k in ("cold", "warm")},
    }
    write_json(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
