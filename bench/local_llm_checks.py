"""Two small checks of a local GGUF under llama.cpp (xllamacpp), each one request, greedy:

``threads``: seconds for one short chat reply with 1 and with 2 llama.cpp threads (on a busy machine, 1 is faster).
``tools``: whether the model's reply to a request offering one tool comes back as native ``tool_calls`` (llama.cpp
parses the ``<tool_call>`` format of Qwen's chat template) or as text.

    nice -n 10 python bench/local_llm_checks.py threads --model qwen2.5-coder-0.5b
    nice -n 10 python bench/local_llm_checks.py tools --model qwen2.5-coder-1.5b
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from ragwright.gateway.providers.local import generator_factory
from ragwright.models.generator import LocalGenerator

TOOL = {
    "type": "function",
    "function": {
        "name": "search_documents",
        "description": "Search the indexed documents.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def server(model: str, threads: int) -> Any:
    gen = generator_factory(model)()
    assert isinstance(gen, LocalGenerator)
    gen.threads = threads
    return gen._load()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("check", choices=["threads", "tools"])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="a local: model name or GGUF path")
    args = ap.parse_args()
    out: dict[str, Any] = {"model": args.model, "load_1min": os.getloadavg()[0]}
    if args.check == "threads":
        request = {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            "max_tokens": 32,
            "temperature": 0.0,
        }
        for threads in (2, 1):
            srv = server(args.model, threads)
            clock = time.perf_counter()
            reply = srv.handle_chat_completions(request)
            out[f"threads_{threads}"] = {
                "seconds": round(time.perf_counter() - clock, 2),
                "text": reply["choices"][0]["message"].get("content"),
            }
            del srv
    else:
        request = {
            "messages": [
                {"role": "system", "content": "You can call tools."},
                {"role": "user", "content": "Find what the documents say about the Kumbum Monastery."},
            ],
            "tools": [TOOL],
            "tool_choice": "auto",
            "max_tokens": 64,
            "temperature": 0.0,
        }
        srv = server(args.model, 1)
        clock = time.perf_counter()
        reply = srv.handle_chat_completions(request)
        message = reply["choices"][0]["message"]
        out.update(
            seconds=round(time.perf_counter() - clock, 2),
            tool_calls=message.get("tool_calls"),
            content=message.get("content"),
            prompt_tokens=reply.get("usage", {}).get("prompt_tokens"),
        )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
