"""Ingest throughput with the remote embedder at 1, 2 and 4 concurrent batches, against a loopback embedding server
with a fixed latency per batch (so the figure measures concurrency, not this machine's cores).

The server (:class:`ragwright.testing.EmbeddingServer`) answers every ``/v1/embeddings`` request after ``--latency``
seconds with hashed bag-of-words vectors (``FakeEmbedder``, 384 dims: negligible CPU). The full ingest pipeline runs
(BEIR loading, chunking, embedding through ``RemoteEmbedder``, postings and vectors into a fresh SQLite index), with
``[embedding] remote_batch = --batch``, ``remote_concurrency = C`` and ``[ingest] embed_batch = batch x C`` (so each
call to the embedder has C batches to send at once). Ideal: ``C x batch / latency`` chunks/s. The same texts are also
embedded alone (``RemoteEmbedder.embed`` over every chunk text in calls of ``batch x C``), which shows the concurrency
without the ingest pipeline's own CPU work (chunking, postings, SQLite writes), which the shared machine starves.

    nice -n 5 python bench/remote_embed_throughput.py --beir ../shared/datasets/scifact --docs 600 \\
        --out bench/results/remote-embed-throughput.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ragwright.app import Ragwright
from ragwright.bench.common import TENANT
from ragwright.config import load_settings
from ragwright.documents.beir import iter_beir_corpus
from ragwright.documents.chunker import chunk_document
from ragwright.ingest.pipeline import Ingestor
from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.fakes import FakeEmbedder
from ragwright.testing.loopback_http import Plan


def one_run(beir: Path, docs: int, batch: int, concurrency: int, latency: float) -> dict[str, Any]:
    with (
        EmbeddingServer(FakeEmbedder(384), default=Plan(delay=latency)) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = load_settings(
            data_dir=Path(tmp),
            embedding={
                "model": f"openai-embed:{server.base_url}#fake-bow",
                "remote_batch": batch,
                "remote_concurrency": concurrency,
            },
            ingest={"embed_batch": batch * concurrency},
        )
        app = Ragwright(settings)
        corpus = list(itertools.islice(iter_beir_corpus(beir / "corpus.jsonl"), docs))
        t0 = time.perf_counter()
        report = Ingestor(app.store, app.embedder, app.settings).ingest_documents(corpus, tenant=TENANT, total=docs)
        seconds = time.perf_counter() - t0
        ing = settings.ingest
        texts = [
            c.indexed_text
            for d in corpus
            for c in chunk_document(d, app.embedder, max_tokens=ing.chunk_tokens, overlap_tokens=ing.chunk_overlap)
        ]
        server.reset()
        t0 = time.perf_counter()
        for start in range(0, len(texts), batch * concurrency):
            app.embedder.embed(texts[start : start + batch * concurrency])
        embed_s = time.perf_counter() - t0
        app.close()
        return {
            "embed_only": {
                "texts": len(texts),
                "requests": server.request_count,
                "seconds": round(embed_s, 2),
                "texts_per_s": round(len(texts) / embed_s, 1),
            },
            "concurrency": concurrency,
            "chunks": report.chunks_embedded,
            "requests": server.request_count,
            "connections": server.connections,
            "seconds": round(seconds, 2),
            "chunks_per_s": round(report.chunks_embedded / seconds, 1),
            "ideal_chunks_per_s": round(concurrency * batch / latency, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds the server takes per batch")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = [one_run(args.beir, args.docs, args.batch, c, args.latency) for c in args.concurrency]
    base = runs[0]["chunks_per_s"]
    result = {
        "docs": args.docs,
        "batch": args.batch,
        "latency_s": args.latency,
        "runs": runs,
        "speedup_vs_first": [round(r["chunks_per_s"] / base, 2) for r in runs],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
