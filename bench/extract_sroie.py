"""The structured extractor on SROIE receipts: few-shot (examples by embedding similarity) against zero-shot.

Both arms run in the same process, on the same documents, with the same model, through one gateway; for each
receipt the zero-shot and the few-shot extraction are made one after the other, so a partial run still compares the
two on the same n. Results are appended to a JSONL file one (receipt, arm) at a time: the run is resumable (a
receipt/arm already in the file is skipped), and ``--table`` scores whatever is there.

Data: ``bench/data/sroie`` (see its SOURCE: CC BY 4.0). The few-shot pool is 40 TRAIN receipts; the evaluated
receipts are TEST ones, so no evaluated document is ever an example.

    nice -n 5 python bench/extract_sroie.py --model local:qwen2.5-coder-1.5b --n 100 --threads 1 \\
        --out bench/results/extract-sroie-qwen15b.jsonl
    python bench/extract_sroie.py --table --out bench/results/extract-sroie-qwen15b.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.documents.loaders import load_file
from ragwright.errors import GatewayError
from ragwright.evals.extraction import score_documents
from ragwright.extract import ExamplePool, ExtractionSchema, ExtractOptions, Extractor
from ragwright.extract.examples import read_examples
from ragwright.extract.extractor import ExtractionResult
from ragwright.gateway.build import Gateway, SyncGateway
from ragwright.gateway.providers.local import LOCAL_CONTEXT_WINDOW, LocalChatModel, generator_factory

DATA = Path(__file__).parent / "data" / "sroie"
ARMS = ("zero_shot", "few_shot")


def local_model(spec: str, threads: int) -> LocalChatModel:
    name = spec.partition(":")[2]
    build = generator_factory(name, LOCAL_CONTEXT_WINDOW)

    def factory() -> Any:
        gen = build()
        gen.threads = threads
        return gen

    return LocalChatModel(name, factory=factory)


def done_keys(out: Path) -> set[tuple[str, str]]:
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {(r["id"], r["arm"]) for r in rows}


def run(args: argparse.Namespace) -> None:
    schema = ExtractionSchema.load(str(DATA / "schema.json"))
    labels = [json.loads(line) for line in (DATA / "labels.jsonl").read_text().splitlines()][: args.n]
    tmp = Path(tempfile.mkdtemp(prefix="extract-bench-"))
    settings = load_settings(
        data_dir=tmp,
        gateway={
            "chain": [args.model],
            "ledger": False,
            "timeout": {"first_token": 900, "total": 900},
            "retry": {"max_attempts": 1},
        },
    )
    factory = (lambda spec: local_model(spec, args.threads)) if args.model.startswith("local:") else None
    gateway = SyncGateway(Gateway(settings, provider_factory=factory))
    rw = Ragwright(settings, gateway=gateway)
    pool = ExamplePool(read_examples(DATA / "pool.jsonl", schema), rw.embedder)
    model = rw.gateway.relayed(args.model)
    arms = {
        "zero_shot": Extractor(model, schema, counter=rw.embedder, options=ExtractOptions(k=0, max_tokens=256)),
        "few_shot": Extractor(
            model,
            schema,
            counter=rw.embedder,
            pool=pool,
            options=ExtractOptions(k=args.k, max_tokens=256, example_chars=args.example_chars),
        ),
    }
    seen = done_keys(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        for item in labels:
            doc = load_file(DATA / item["file"], item["id"], max_bytes=1 << 20)
            for arm in ARMS:
                if (item["id"], arm) in seen:
                    continue
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                try:
                    result = asyncio.run(arms[arm].extract(doc))
                except GatewayError as exc:  # e.g. a prompt over the window: nothing extracted, the run goes on
                    result = ExtractionResult(doc.doc_id, None, False, errors=[f"{type(exc).__name__}: {exc}"])
                row = {
                    "id": item["id"],
                    "arm": arm,
                    "model": args.model,
                    "k": 0 if arm == "zero_shot" else args.k,
                    "predicted": result.data,
                    "gold": item["output"],
                    "valid": result.valid,
                    "errors": result.errors[:3],
                    "calls": result.calls,
                    "reasks": result.reasks,
                    "examples": result.examples,
                    "spans_found": sum(f.start is not None for f in result.fields if f.value not in (None, "")),
                    "values": sum(f.value not in (None, "") for f in result.fields),
                    "seconds": round(time.perf_counter() - t0, 2),
                    "load": round(load, 2),
                }
                with args.out.open("a") as f:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                print(f"{item['id']} {arm}: {row['seconds']} s valid={result.valid}", file=sys.stderr, flush=True)
    finally:
        rw.close()
        gateway.close()


def table(out: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    by_arm: dict[str, dict[str, dict[str, Any]]] = {arm: {} for arm in ARMS}
    for r in rows:
        by_arm[r["arm"]][r["id"]] = r
    both = sorted(set(by_arm["zero_shot"]) & set(by_arm["few_shot"]))
    fields = ("company", "date", "address", "total")
    report: dict[str, Any] = {"n": len(both), "model": rows[0]["model"] if rows else None, "arms": {}}
    for arm in ARMS:
        picked = [by_arm[arm][i] for i in both]
        scores = score_documents(((r["predicted"], r["gold"]) for r in picked), fields)
        report["arms"][arm] = {
            **scores.to_dict(),
            "valid": sum(r["valid"] for r in picked),
            "reasks": sum(r["reasks"] for r in picked),
            "span_linked": f"{sum(r['spans_found'] for r in picked)}/{sum(r['values'] for r in picked)}",
            "seconds_per_doc": round(sum(r["seconds"] for r in picked) / max(len(picked), 1), 1),
        }
    return report


def markdown(report: dict[str, Any]) -> str:
    """The report as the table in docs/extract.md."""
    lines = [
        "| arm | n | field precision | field recall | field F1 | exact documents | valid | re-asks "
        "| values with a span | F1 company / date / address / total | s per receipt |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, r in report["arms"].items():
        per = " / ".join(f"{r['by_field'][f]['f1']:.2f}" for f in ("company", "date", "address", "total"))
        lines.append(
            f"| {arm.replace('_', '-')} | {r['n']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} "
            f"| {r['exact_document_accuracy']:.1%} | {r['valid']}/{r['n']} | {r['reasks']} | {r['span_linked']} "
            f"| {per} | {r['seconds_per_doc']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    ap.add_argument("--n", type=int, default=100, help="receipts to evaluate (the first n TEST receipts by key)")
    ap.add_argument("--k", type=int, default=2, help="few-shot examples per call")
    ap.add_argument("--example-chars", type=int, default=2000, help="few-shot text budget (2,048-token window)")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a shared machine)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/extract-sroie-qwen15b.jsonl"))
    ap.add_argument("--table", action="store_true", help="score the results file and print the report")
    ap.add_argument("--markdown", action="store_true", help="with --table: print the docs table")
    args = ap.parse_args()
    if args.table:
        report = table(args.out)
        print(markdown(report) if args.markdown else json.dumps(report, indent=2))
        return
    run(args)


if __name__ == "__main__":
    main()
