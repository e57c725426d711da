"""How far the local provider's token estimate is from llama.cpp's count on tool output full of ids, and what the
context does to the reply when the prompt fits but the reply does not (the agent bench's a25 and a30).

A prompt of N rows of hex ids (as search results and document ids look) goes to a local model (default: the packaged
SmolLM2-135M) with a 2,048-token context and ``max_tokens`` 256. Prints the provider's estimate (four characters a
token), then llama.cpp's own count and how many tokens the reply got before the context filled: since 4 Dec the
generator reports that as ModelContextExceeded (before, the cut reply came back as if whole).

    nice -n 10 python bench/local_window.py --rows 64        # about 45 s at load ~10 on 2 cores
"""

from __future__ import annotations

import argparse
import random
import re
import time

from ragwright.errors import ModelContextExceeded
from ragwright.gateway.providers.local import estimate_tokens
from ragwright.models.generator import LocalGenerator, default_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=64, help="Rows of ids in the prompt (64: about 2,000 tokens).")
    parser.add_argument("--gguf", default=None, help="A GGUF file instead of the packaged SmolLM2.")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    gen = (
        LocalGenerator(args.gguf, n_ctx=2048, threads=args.threads)
        if args.gguf
        else default_generator(n_ctx=2048, threads=args.threads)
    )
    rnd = random.Random(1)
    rows = "\n".join(
        f"- doc {rnd.getrandbits(48):012x} chunk {rnd.getrandbits(32):08x} score 0.{rnd.randint(100, 999)}"
        for _ in range(args.rows)
    )
    prompt = (
        'Reply with the JSON {"thought": "...", "tool": null, "arguments": {}, "final": "<answer>"} about:\n' + rows
    )
    print(f"prompt: {len(prompt)} characters, estimate {estimate_tokens(prompt)} tokens (+ 256 to generate)")
    started = time.monotonic()
    try:
        reply = gen.chat([("user", prompt)], max_tokens=256)
        print(f"reply returned whole: {len(reply)} characters")
    except ModelContextExceeded as exc:
        stopped = re.search(r"stopped after (\d+)", str(exc))
        print(f"llama.cpp: {exc} (tokens {exc.tokens}, limit {exc.limit})")
        if stopped and exc.tokens is not None:
            print(
                f"prompt tokens by llama.cpp: {exc.tokens - 256}; reply tokens before the context filled: {stopped[1]}"
            )
    print(f"{time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
