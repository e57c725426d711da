"""Generators compared on answerable XQuAD-en questions: extractive, SmolLM2-135M and the Qwen2.5-Coder GGUFs.

Every answerer gets the same four passages per question (the gold paragraph and three other paragraphs of its
article, shuffled), the same prompt the ask pipeline sends, and the same sentence check. Reported per generator:
SQuAD F1/EM of the checked answer (markers removed), answer containment (the normalised gold answer inside the
answer) with the mean answer length, the share of generated sentences that pass verification, how often the model
said NOT IN DOCUMENTS, and seconds per answer (model call only). Not part of `make test`: a real model takes seconds
per answer.

    nice -n 5 python bench/generators.py --xquad ../shared/datasets/xquad-en/xquad.en.json --n 100 \\
        --generators extractive,local:smollm2,local:qwen2.5-coder-0.5b --out bench/results/generators.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from ragwright.answering import extractive, generative
from ragwright.answering.evidence import score_sentences
from ragwright.answering.injection_prompt import answer_messages
from ragwright.bench.squad import exact_match, f1, normalize_answer
from ragwright.config import load_settings
from ragwright.documents.model import Chunk
from ragwright.gateway.providers.local import LOCAL_CONTEXT_WINDOW, LocalChatModel, generator_factory
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.generator import LocalGenerator
from ragwright.models.registry import embedder_from_settings
from ragwright.retrieval.retriever import Hit
from ragwright.store.base import StoredChunk

SEED = 7
PASSAGES = 4


def sample(xquad: Path, n: int) -> list[dict[str, Any]]:
    """A seeded sample of ``n`` questions, each with its gold paragraph and three others of its article."""
    articles = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    items = []
    for a, article in enumerate(articles):
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                items.append({"article": a, "para": p, "qa": qa, "title": article["title"]})
    rng = random.Random(SEED)
    chosen = rng.sample(items, n)
    for item in chosen:
        paras = articles[item["article"]]["paragraphs"]
        others = [i for i in range(len(paras)) if i != item["para"]]
        shown = [item["para"], *rng.sample(others, min(PASSAGES - 1, len(others)))]
        rng.shuffle(shown)
        item["passages"] = [(f"{item['title']}#{i}", paras[i]["context"]) for i in shown]
    return chosen


def hits_of(passages: list[tuple[str, str]], title: str) -> list[Hit]:
    hits = []
    for rank, (source, text) in enumerate(passages):
        chunk = Chunk(id=source, doc_id=source, ordinal=0, text=text, context=title, char_start=0, char_end=len(text))
        hits.append(Hit(rank=rank, score=0.0, chunk=StoredChunk(chunk, source, title, "squad")))
    return hits


def run(args: argparse.Namespace) -> dict[str, Any]:
    items = sample(args.xquad, args.n)
    embedder = embedder_from_settings(load_settings().embedding)
    settings = load_settings().answer
    results: dict[str, Any] = {"n": args.n, "seed": SEED, "passages": PASSAGES, "threads": args.threads, "runs": {}}
    for name in args.generators.split(","):
        rows = []
        model = None
        if name != "extractive":
            spec = name.partition(":")[2]
            build = generator_factory(spec, LOCAL_CONTEXT_WINDOW)

            def factory(build=build) -> LocalGenerator:  # type: ignore[no-untyped-def]
                gen = build()
                gen.threads = args.threads  # type: ignore[attr-defined]
                return gen  # type: ignore[return-value]

            model = LocalChatModel(spec, factory=factory)
        for k, item in enumerate(items):
            question = item["qa"]["question"]
            golds = tuple(a["text"] for a in item["qa"]["answers"])
            hits = hits_of(item["passages"], item["title"])
            scored = score_sentences(question, hits, embedder)
            clock = time.perf_counter()
            if model is None:
                text, _ = extractive.compose(extractive.select(scored, max_sentences=settings.max_sentences))
                seconds = time.perf_counter() - clock
                generated, kept_share, abstained = 0, None, False
            else:
                system, user = answer_messages(question, item["passages"])
                request = ChatRequest(
                    model=name,
                    temperature=0.0,
                    seed=0,
                    max_tokens=args.max_tokens,
                    messages=(Message("system", system), Message("user", user)),
                )
                reply = asyncio.run(model.chat(request))
                seconds = time.perf_counter() - clock
                checked = generative.check_citations(reply.text, scored, embedder)
                text = checked.text
                generated = len(checked.verdicts)
                kept_share = sum(v.supported for v in checked.verdicts) / generated if generated else None
                abstained = checked.model_abstained and not checked.text
            plain = generative._MARKER.sub("", text).strip()
            rows.append(
                {
                    "id": item["qa"]["id"],
                    "f1": f1(plain, golds),
                    "em": exact_match(plain, golds),
                    "contains": any(normalize_answer(g) in normalize_answer(plain) for g in golds) if plain else False,
                    "words": len(plain.split()),
                    "seconds": seconds,
                    "sentences": generated,
                    "kept_share": kept_share,
                    "abstained": abstained,
                    "answer": plain[:300],
                }
            )
            print(name, k + 1, round(seconds, 1), repr(plain[:80]), flush=True)
        shares = [r["kept_share"] for r in rows if r["kept_share"] is not None]
        results["runs"][name] = {
            "f1": round(100 * statistics.mean(r["f1"] for r in rows), 1),
            "em": round(100 * statistics.mean(r["em"] for r in rows), 1),
            "containment": round(100 * statistics.mean(r["contains"] for r in rows), 1),
            "mean_words": round(statistics.mean(r["words"] for r in rows), 1),
            "sentences_passing_verification": round(100 * statistics.mean(shares), 1) if shares else None,
            "model_abstained": round(100 * statistics.mean(r["abstained"] for r in rows), 1),
            "seconds_per_answer_p50": round(statistics.median(r["seconds"] for r in rows), 2),
            "seconds_per_answer_mean": round(statistics.mean(r["seconds"] for r in rows), 2),
            "rows": rows,
        }
        if args.out:
            args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xquad", type=Path, required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument(
        "--generators", default="extractive,local:smollm2,local:qwen2.5-coder-0.5b,local:qwen2.5-coder-1.5b"
    )
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path)
    data = run(ap.parse_args())
    for name, r in data["runs"].items():
        print(name, {k: v for k, v in r.items() if k != "rows"})


if __name__ == "__main__":
    main()
