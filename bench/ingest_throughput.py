"""Ingest throughput of the whole pipeline against a bare onnxruntime loop over the same texts, in one process.

The pipeline run ingests N SciFact records into a fresh store (chunking, embedding, postings, vectors, one
transaction per document). The bare loop embeds exactly the chunk texts the pipeline embedded, with the same model,
tokenizer settings and batch size, and nothing else. The ratio is what the foundation issue asks to be >= 0.8.

    python bench/ingest_throughput.py --n 500 --out bench/results/ingest-throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_throughput import bare_embedder  # noqa: E402

from ragwright.app import Ragwright  # noqa: E402
from ragwright.config import load_settings  # noqa: E402
from ragwright.documents.beir import iter_beir_corpus  # noqa: E402
from ragwright.ingest.pipeline import Ingestor  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/datasets/scifact/corpus.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    docs = []
    for doc in iter_beir_corpus(args.corpus):
        docs.append(doc)
        if len(docs) == args.n:
            break
    with tempfile.TemporaryDirectory() as tmp:
        rw = Ragwright(load_settings(data_dir=Path(tmp)))
        embedder = rw.embedder
        embedder.embed(["warm up"])
        ingestor = Ingestor(rw.store, embedder, rw.settings)
        started = time.perf_counter()
        report = ingestor.ingest_documents(docs, tenant="bench", total=len(docs))
        pipeline_s = time.perf_counter() - started
        texts = [r[0] for r in rw.store._db.execute("SELECT context || char(10) || text FROM chunks")]  # type: ignore[attr-defined]
        rw.close()
    bare = bare_embedder(256, rw.settings.ingest.embed_batch, os.cpu_count() or 1)
    bare(["warm up"])
    started = time.perf_counter()
    for i in range(0, len(texts), rw.settings.ingest.embed_batch):
        bare(texts[i : i + rw.settings.ingest.embed_batch])
    bare_s = time.perf_counter() - started
    result = {
        "docs": len(docs), "chunks": len(texts), "chunks_embedded": report.chunks_embedded,
        "pipeline": {"seconds": round(pipeline_s, 2), "docs_per_s": round(len(docs) / pipeline_s, 2),
                     "chunks_per_s": round(len(texts) / pipeline_s, 2)},
        "bare_onnxruntime": {"seconds": round(bare_s, 2), "chunks_per_s": round(len(texts) / bare_s, 2)},
        "ratio": round(bare_s / pipeline_s, 3),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
