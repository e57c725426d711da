"""Ingest throughput of the whole pipeline against a bare onnxruntime loop over the same texts, in one process.

The pipeline run ingests N SciFact records into a fresh store (chunking, embedding, postings, vectors, one
transaction per document). The bare loop embeds exactly the chunk texts the pipeline embedded, with the same model,
tokenizer settings and batch size, and nothing else. The ratio is what the foundation issue asks to be >= 0.8.

``--document-precision`` picks the document encoder (``embedding.document_precision``): ``fp32`` (the default),
``int8`` (the derived int8 encoder, for the pipeline and the bare loop alike) or ``both``, which runs fp32 then int8
in the same process and reports the int8/fp32 ratios, in wall time and in CPU time (the process's CPU seconds, all
threads: the fair figure on a shared machine).

    python bench/ingest_throughput.py --n 500 --out bench/results/ingest-throughput.json
    python bench/ingest_throughput.py --n 300 --document-precision both --out bench/results/ingest-throughput-int8.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_throughput import bare_embedder  # noqa: E402

from ragwright.app import Ragwright  # noqa: E402
from ragwright.config import load_settings  # noqa: E402
from ragwright.documents.beir import iter_beir_corpus  # noqa: E402
from ragwright.documents.model import Document  # noqa: E402
from ragwright.ingest.pipeline import Ingestor  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/datasets/scifact/corpus.jsonl"


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def run(docs: list[Document], precision: str) -> dict[str, Any]:
    """Ingest ``docs`` into a fresh store with documents embedded at ``precision``, then the bare loop."""
    with tempfile.TemporaryDirectory() as tmp:
        rw = Ragwright(load_settings(data_dir=Path(tmp), embedding={"document_precision": precision}))
        embedder = rw.embedder
        embedder.embed(["warm up"])  # for int8 this also derives (or loads) the int8 graph
        ingestor = Ingestor(rw.store, embedder, rw.settings)
        wall0, cpu0 = clocks()
        report = ingestor.ingest_documents(docs, tenant="bench", total=len(docs))
        wall1, cpu1 = clocks()
        pipeline_s, pipeline_cpu = wall1 - wall0, cpu1 - cpu0
        texts = [r[0] for r in rw.store._db.execute("SELECT context || char(10) || text FROM chunks")]  # type: ignore[attr-defined]
        batch = rw.settings.ingest.embed_batch
        name = embedder.name
        rw.close()
    bare = bare_embedder(256, batch, os.cpu_count() or 1, precision)
    bare(["warm up"])
    wall0, cpu0 = clocks()
    for i in range(0, len(texts), batch):
        bare(texts[i : i + batch])
    wall1, cpu1 = clocks()
    bare_s, bare_cpu = wall1 - wall0, cpu1 - cpu0
    return {
        "document_precision": precision,
        "embedder": name,
        "docs": len(docs),
        "chunks": len(texts),
        "chunks_embedded": report.chunks_embedded,
        "pipeline": {
            "seconds": round(pipeline_s, 2),
            "docs_per_s": round(len(docs) / pipeline_s, 2),
            "chunks_per_s": round(len(texts) / pipeline_s, 2),
            "cpu_seconds": round(pipeline_cpu, 2),
            "chunks_per_cpu_s": round(len(texts) / pipeline_cpu, 2),
        },
        "bare_onnxruntime": {
            "seconds": round(bare_s, 2),
            "chunks_per_s": round(len(texts) / bare_s, 2),
            "cpu_seconds": round(bare_cpu, 2),
            "chunks_per_cpu_s": round(len(texts) / bare_cpu, 2),
        },
        "ratio": round(bare_s / pipeline_s, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--document-precision", choices=["fp32", "int8", "both"], default="fp32")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    docs = []
    for doc in iter_beir_corpus(args.corpus):
        docs.append(doc)
        if len(docs) == args.n:
            break
    result: dict[str, Any]
    if args.document_precision != "both":
        result = run(docs, args.document_precision)
    else:
        fp32, int8 = run(docs, "fp32"), run(docs, "int8")
        result = {
            "fp32": fp32,
            "int8": int8,
            "int8_over_fp32": {
                "pipeline_chunks_per_s": round(int8["pipeline"]["chunks_per_s"] / fp32["pipeline"]["chunks_per_s"], 2),
                "pipeline_chunks_per_cpu_s": round(
                    int8["pipeline"]["chunks_per_cpu_s"] / fp32["pipeline"]["chunks_per_cpu_s"], 2
                ),
                "bare_chunks_per_cpu_s": round(
                    int8["bare_onnxruntime"]["chunks_per_cpu_s"] / fp32["bare_onnxruntime"]["chunks_per_cpu_s"], 2
                ),
            },
        }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
