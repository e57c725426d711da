"""Real outputs of a local model for the verifier benchmark: XQuAD-en questions answered from two passages.

For each XQuAD-en article (seeded sample) it asks one answerable question (its gold paragraph and one other paragraph
of the same article as passages) and one unanswerable question (another paragraph's question, with the gold paragraph
left out: "related but absent"), through the same prompt and ``ChatRequest`` the ask pipeline sends. The replies are
written as JSONL; each sentence is then labelled by hand in ``bench/data/verifier/model_labels.jsonl``.

    nice -n 5 python bench/verifier_model_outputs.py --xquad ../shared/datasets/xquad-en/xquad.en.json \\
        --model local:smollm2 --out bench/data/verifier/model_outputs.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

from ragwright.answering.injection_prompt import answer_messages
from ragwright.gateway.providers.local import LOCAL_CONTEXT_WINDOW, LocalChatModel
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.generator import default_generator

SEED = 13


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xquad", type=Path, required=True)
    ap.add_argument("--model", default="local:smollm2")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 holds up best on a busy machine)")
    args = ap.parse_args()
    articles = json.loads(args.xquad.read_text(encoding="utf-8"))["data"]
    rng = random.Random(SEED)
    model = LocalChatModel(
        args.model.partition(":")[2],
        factory=lambda: default_generator(n_ctx=LOCAL_CONTEXT_WINDOW, threads=args.threads),
    )
    done = {json.loads(line)["id"] for line in args.out.read_text().splitlines()} if args.out.is_file() else set()
    sink = args.out.open("a", encoding="utf-8")
    rows = []
    for a, article in enumerate(articles):
        paras = article["paragraphs"]
        gold = rng.randrange(len(paras))
        other = (gold + 1 + rng.randrange(len(paras) - 1)) % len(paras)
        third = next(i for i in range(len(paras)) if i not in (gold, other))
        prompts = [
            (rng.choice(paras[gold]["qas"]), [gold, other] if rng.random() < 0.5 else [other, gold], True),
            (rng.choice(paras[third]["qas"]), [gold, other], False),
        ]
        for qa, shown, answerable in prompts:
            if qa["id"] in done:
                continue
            passages = [(f"{article['title']}#{p}", paras[p]["context"]) for p in shown]
            system, user = answer_messages(qa["question"], passages)
            request = ChatRequest(
                model=args.model,
                temperature=0.0,
                seed=0,
                max_tokens=args.max_tokens,
                messages=(Message("system", system), Message("user", user)),
            )
            clock = time.perf_counter()
            reply = asyncio.run(model.chat(request))
            rows.append(
                {
                    "id": qa["id"],
                    "article": a,
                    "title": article["title"],
                    "question": qa["question"],
                    "answers": [x["text"] for x in qa["answers"]],
                    "passages": shown,
                    "answerable": answerable,
                    "model": args.model,
                    "output": reply.text,
                    "seconds": round(time.perf_counter() - clock, 2),
                }
            )
            sink.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
            sink.flush()  # one row at a time: an interrupted run resumes where it stopped
            print(len(rows), rows[-1]["seconds"], repr(reply.text[:100]), flush=True)
    sink.close()


if __name__ == "__main__":
    main()
