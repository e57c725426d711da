"""Harness overhead and warm-cache re-run time of `ragwright eval run`, with a deterministic offline judge.

    .venv/bin/python bench/eval_overhead.py CASES.jsonl --data-dir INDEX_DIR [--limit 1000] [--out bench/results/x.json]
        [--embedding fake --ingest CORPUS.jsonl]

1. Overhead: one pass at concurrency 1 with every metric, the judged ones through a fake judge that answers
   instantly (so the judge's own latency is not counted as harness time). Overhead = (wall time of the run - the
   pipeline's own time inside `Ragwright.ask`) / pipeline time.
2. Warm cache: the same evaluation again with the judge cache left by pass 1: wall seconds, and how many calls
   reached the judge model (must be 0).

The judge here is a rule (word overlap between claim and evidence), not a language model: it exercises the same code
path, prompts, JSON validation and cache, and costs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.evals.dataset import load_cases
from ragwright.evals.judge import Judge
from ragwright.evals.runner import run_eval
from ragwright.gateway.types import ChatRequest
from ragwright.testing import FakeChatModel

_W = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_W.findall(text.lower()))


def _block(prompt: str, head: str) -> str:
    return prompt.split(head + ":\n", 1)[1].split("\n\n", 1)[0]


def rule_judge(request: ChatRequest) -> str:
    prompt = request.messages[-1].content or ""
    if "atomic factual claims" in prompt:
        return json.dumps({"claims": [s for s in re.split(r"(?<=\.)\s+", _block(prompt, "ANSWER")) if s.strip()]})
    if "numbered CLAIM" in prompt:
        evidence = _words(prompt.split("EVIDENCE:\n", 1)[1].split("\nCLAIMS:\n", 1)[0])
        claims = re.findall(r"^(\d+)\. (.*)$", prompt.split("\nCLAIMS:\n", 1)[1], re.M)
        return json.dumps(
            {
                "verdicts": [
                    {"index": int(i), "supported": len(_words(c) - evidence) <= 1, "reason": "overlap"}
                    for i, c in claims
                ]
            }
        )
    if "numbered PAIR" in prompt:
        pairs = re.findall(r"^(\d+)\. SENTENCE: (.*)\n   PASSAGE: (.*)$", prompt, re.M)
        return json.dumps(
            {
                "verdicts": [
                    {"index": int(i), "supported": len(_words(s) - _words(p)) <= 1, "reason": "overlap"}
                    for i, s, p in pairs
                ]
            }
        )
    q, a = _words(_block(prompt, "QUESTION")), _words(_block(prompt, "ANSWER"))
    return json.dumps({"score": 1 + round(4 * len(q & a) / max(len(q), 1)), "reason": "overlap"})


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--embedding", default=None, help="Embedder spec (e.g. 'fake' for a pipeline in ms).")
    parser.add_argument("--ingest", type=Path, action="append", default=[], help="Index this first.")
    args = parser.parse_args()
    cases = load_cases(args.cases)[: args.limit]
    settings = load_settings(data_dir=args.data_dir, embedding={"model": args.embedding} if args.embedding else None)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "judge.sqlite"
        model = FakeChatModel(rule_judge, name="fake:rule-judge")
        rw = Ragwright(settings)
        if args.ingest:
            rw.ingest(args.ingest)
        rw.ask("warm-up: load the models")  # model loading is not per-case pipeline time
        judge = Judge(model, cache_path=cache)
        first = await run_eval(cases, rw=rw, out=Path(tmp) / "cold.json", judge=judge, concurrency=1)
        judge.close()
        calls_cold = model.calls
        judge = Judge(model, cache_path=cache)
        clock = time.perf_counter()
        second = await run_eval(cases, rw=rw, out=Path(tmp) / "warm.json", judge=judge, concurrency=1)
        warm_s = time.perf_counter() - clock
        judge.close()
        rw.close()
    t = first.timing
    result = {
        "cases": len(cases),
        "embedder": settings.embedding.model,
        "cold": {
            "wall_s": t.wall_s,
            "pipeline_s": t.pipeline_s,
            "harness_overhead_pct": round(100 * (t.wall_s - t.pipeline_s) / t.pipeline_s, 2),
            "judge_calls": calls_cold,
        },
        "warm_cache": {
            "wall_s": round(warm_s, 2),
            "judge_model_calls": model.calls - calls_cold,
            "judge_cache_hits": second.timing.judge_cache_hits,
            "pipeline_s": second.timing.pipeline_s,
            "judge_and_metrics_s": round(warm_s - second.timing.pipeline_s, 2),
        },
        "same_scores": first.summary.metrics == second.summary.metrics,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
