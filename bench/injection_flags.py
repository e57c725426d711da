"""How many benign passages the injection flagger flags: SciFact, XQuAD-en and the sample documents.

    python bench/injection_flags.py --datasets ../shared/datasets --out bench/results/injection-flags.json

Each corpus is loaded and chunked exactly as ``ragwright ingest`` does (the MiniLM tokenizer sets the chunk budget;
nothing is embedded), then every chunk goes through :func:`ragwright.answering.injection.detect`. The target is at
most 1 % of passages flagged on each corpus; the output lists every flagged passage with the text that matched, so a
pattern that fires on ordinary prose can be seen and tightened.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def corpora(datasets: Path) -> dict[str, Iterable[Any]]:
    from ragwright.bench.squad import load_squad
    from ragwright.documents.beir import iter_beir_corpus
    from ragwright.documents.loaders import load_file

    samples = sorted(p for p in (ROOT / "examples/sample-docs").iterdir() if p.is_file())
    return {
        "scifact": iter_beir_corpus(datasets / "scifact/corpus.jsonl"),
        "xquad-en": load_squad(datasets / "xquad-en/xquad.en.json")[0],
        "sample-docs": [load_file(p, p.name, max_bytes=50 * 2**20) for p in samples],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared/datasets")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from ragwright.answering.injection import detect, normalize
    from ragwright.config import load_settings
    from ragwright.documents.chunker import chunk_document
    from ragwright.models.registry import embedder_from_settings

    settings = load_settings()
    counter = embedder_from_settings(settings.embedding)  # only its tokenizer is used: nothing is embedded
    report: dict[str, Any] = {"corpora": {}}
    for name, docs in corpora(args.datasets).items():
        started = time.perf_counter()
        n_docs = n_chunks = 0
        kinds: Counter[str] = Counter()
        flagged: list[dict[str, str]] = []
        for doc in docs:
            n_docs += 1
            chunks = chunk_document(
                doc, counter, max_tokens=settings.ingest.chunk_tokens, overlap_tokens=settings.ingest.chunk_overlap
            )
            for chunk in chunks:
                n_chunks += 1
                found = detect(chunk.text)
                if found is not None:
                    kinds[found.kind.value] += 1
                    norm = normalize(chunk.text)
                    flagged.append(
                        {
                            "doc_id": doc.doc_id,
                            "kind": found.kind.value,
                            "language": found.language,
                            "match": norm[max(0, found.start - 40) : found.end + 40],
                        }
                    )
        rate = len(flagged) / n_chunks if n_chunks else 0.0
        report["corpora"][name] = {
            "documents": n_docs,
            "passages": n_chunks,
            "flagged": len(flagged),
            "rate": round(rate, 5),
            "by_kind": dict(kinds),
            "seconds": round(time.perf_counter() - started, 2),
            "examples": flagged[:50],
        }
        print(f"{name:12s} {n_docs:6d} docs {n_chunks:6d} passages  flagged {len(flagged):4d} ({100 * rate:.2f} %)")
        for f in flagged[:10]:
            print(f"    {f['doc_id']}: [{f['kind']}/{f['language']}] …{f['match']}…")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
