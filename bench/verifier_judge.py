"""The model judge of the verifier benchmark with a local GGUF model on a chosen number of llama.cpp threads.

``ragwright bench verifier --judge-model local:...`` runs the same judge through the process's gateway, where the
local model uses every core; on a shared machine one thread is several times faster (llama.cpp's threads wait for each
other at every step, and a descheduled one stalls the rest), so this script builds the ``local:`` provider itself and
passes it to :func:`ragwright.bench.verifier.run_verifier_bench`. Same pairs, same seeded judge sample (``--limit 40``
judges the 40 test pairs the SmolLM2 run judged), same rates; it adds 95 % Wilson intervals, since n is small.

    nice -n 10 python bench/verifier_judge.py --model local:qwen2.5-coder-0.5b --limit 40 \\
        --out bench/results/verifier-judge-qwen05b.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

from ragwright.answering.verify import Failure, verify_offline
from ragwright.answering.verify_judge import ModelJudge, _passage_of
from ragwright.bench.verifier import evidence_of, load_split, run_verifier_bench
from ragwright.bench.verifier_pairs import build_pairs, split_of
from ragwright.config import load_settings
from ragwright.gateway.providers.local import LOCAL_CONTEXT_WINDOW, LocalChatModel, generator_factory
from ragwright.gateway.types import ChatRequest, ChatResponse, Message
from ragwright.models.generator import LocalGenerator
from ragwright.models.registry import embedder_from_settings


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """The 95 % Wilson score interval of k successes in n trials."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def with_intervals(block: dict[str, Any]) -> dict[str, Any]:
    """Add ``*_ci95`` beside the two rates of a :func:`ragwright.bench.verifier.rates` block."""
    out = dict(block)
    for rate, n in (("unsupported_passed", "n_unsupported"), ("supported_dropped", "n_supported")):
        if block.get(rate) is not None:
            out[f"{rate}_ci95"] = wilson(round(block[rate] * block[n]), block[n])
    return out


def _key(request: ChatRequest) -> str:
    return hashlib.sha256(json.dumps([m.content for m in request.messages]).encode()).hexdigest()


def cached_prefix(args: argparse.Namespace, judge: ModelJudge, cache: dict[str, Any]) -> int:
    """How many pairs of the seeded judge sample (drawn as ``run_verifier_bench`` draws it) can be judged from the
    cache alone: the sample of k is the first k of the sample of ``args.limit`` (``random.sample``, same seed)."""
    pairs = build_pairs(args.datasets, args.data)
    test_docs = load_split(args.data)
    chosen = [p for p in pairs if split_of(p.doc, test_docs) == "test"]
    sample = random.Random("judge:test").sample(chosen, args.limit)
    for k, pair in enumerate(sample):
        if (
            pair.earlier
            and verify_offline([pair.sentence], [], None, earlier=pair.earlier)[0].failure is Failure.REPEAT
        ):
            continue  # collapsed before any judge call, as in run_judge
        evidence = evidence_of(pair)
        offline = verify_offline([pair.sentence], evidence, None)[0]  # as ModelJudge.judge_pair picks the passage
        request = judge.request(pair.sentence, _passage_of(evidence, offline.evidence))
        if _key(request) not in cache:
            return k
    return len(sample)


def _read_cache(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["key"]: r for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--limit", type=int, default=40, help="judge a seeded sample of N test pairs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--data", type=Path, default=Path("bench/data/verifier"))
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--replay",
        action="store_true",
        help="no model call: judge the longest prefix of the seeded sample whose replies are cached (a run cut short)",
    )
    args = ap.parse_args()
    build = generator_factory(args.model.partition(":")[2], LOCAL_CONTEXT_WINDOW)

    def factory() -> LocalGenerator:
        gen = build()
        gen.threads = args.threads  # type: ignore[attr-defined]
        return gen  # type: ignore[return-value]

    local = LocalChatModel(args.model.partition(":")[2], factory=factory)
    replies: list[str] = []
    cache_path = args.out.with_suffix(".replies.jsonl") if args.out else None
    cache = _read_cache(cache_path)

    def chat(request: ChatRequest) -> ChatResponse:
        key = _key(request)
        if key in cache:  # a restarted run replays the replies it already has (the local provider has no logprobs)
            reply = ChatResponse(model=local.name, message=Message("assistant", cache[key]["text"] or None))
        elif args.replay:
            raise SystemExit("--replay needs a model call: the cache does not cover this pair")
        else:
            load = os.getloadavg()[0]
            clock = time.perf_counter()
            reply = asyncio.run(local.chat(request))
            cache[key] = {"text": reply.text, "seconds": round(time.perf_counter() - clock, 2), "load": load}
            if cache_path:
                with cache_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": key, **cache[key]}) + "\n")
        replies.append(reply.text or "")
        print(len(replies), repr((reply.text or "")[:20]), f"load {os.getloadavg()[0]:.1f}", flush=True)
        return reply

    judge = ModelJudge(chat, args.model)
    if args.replay:
        args.limit = cached_prefix(args, judge, cache)
        print(f"replaying the first {args.limit} pairs of the sample from {cache_path}")
    loads = [os.getloadavg()[0]]
    clock = time.time()
    result = run_verifier_bench(
        args.datasets,
        args.data,
        embedder=embedder_from_settings(load_settings().embedding),
        judge=judge.judge_pair,
        judge_name=args.model,
        judge_limit=args.limit,
        splits=("test",),
        progress=print,
    )
    loads.append(os.getloadavg()[0])
    test = result["splits"]["test"]
    test["judge"] = with_intervals(test["judge"])
    test["offline_on_judge_sample"] = with_intervals(test["offline_on_judge_sample"])
    test["offline"] = with_intervals(test["offline"])
    words = [r.split()[0].lower().strip(".,!") if r.split() else "" for r in replies]
    test["judge_replies"] = {w: words.count(w) for w in sorted(set(words))}
    timed = [c for c in cache.values() if "seconds" in c]
    test["judge"]["seconds_per_call_p50"] = sorted(c["seconds"] for c in timed)[len(timed) // 2] if timed else None
    test["judge"]["load_1min_mean"] = round(sum(c["load"] for c in timed) / len(timed), 2) if timed else None
    result["threads"] = args.threads
    result["wall_seconds"] = round(time.time() - clock)
    result["load_1min_start_end"] = [round(x, 2) for x in loads]
    text = json.dumps(result, indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
