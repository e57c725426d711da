"""The research agent on examples/research_tasks.jsonl: claim citation precision, coverage of the reference facts,
not-found honesty and trajectory efficiency, per task and on average.

The sample documents are split over two knowledge bases of a fresh index (default: the Markdown guides; support:
the warranty PDF and the pricing page), so most tasks need both. Each task's result is appended to ``--out`` as it
finishes (resumable: done tasks are skipped); ``--table`` prints the means over the file.

    nice -n 5 python bench/research_cases.py --model local:qwen2.5-coder-1.5b --out bench/results/research-qwen15b.jsonl
    python bench/research_cases.py --table --out bench/results/research-qwen15b.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from ragwright.agents.service import default_limits
from ragwright.agents.tools import ToolContext
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.documents.loaders import load_file
from ragwright.evals.research_eval import load_research_cases, research_scores
from ragwright.ingest.pipeline import Ingestor
from ragwright.interfaces.mcp.access import local_key
from ragwright.research.service import research, research_runner

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "examples" / "sample-docs"
SPLIT = {"default": ("getting-started.md", "troubleshooting.md", "security-policy.md"),
         "support": ("warranty-and-service.pdf", "pricing.html")}  # fmt: skip


def build(model: str) -> Ragwright:
    tmp = Path(tempfile.mkdtemp(prefix="research-bench-"))
    timeout = {"first_token": 1800, "total": 1800}
    gateway = {"chain": [model], "ledger": False, "timeout": timeout, "retry": {"max_attempts": 1}}
    agent = {"max_seconds": 3600}  # a local model on a busy 2-core machine: one step can take 10 minutes
    rw = Ragwright(load_settings(data_dir=tmp, gateway=gateway, agent=agent))
    for kb, names in SPLIT.items():
        docs = [load_file(DOCS / n, n, max_bytes=50 << 20) for n in names]
        Ingestor(rw.store, rw.embedder, rw.settings).ingest_documents(
            docs, tenant="default" if kb == "default" else f"default.{kb}"
        )
    return rw


def run(args: argparse.Namespace) -> None:
    cases = load_research_cases(ROOT / "examples" / "research_tasks.jsonl")
    done = {json.loads(x)["id"] for x in args.out.read_text().splitlines()} if args.out.exists() else set()
    rw = build(args.model)
    try:
        for case in cases:
            if case.id in done:
                continue
            t0 = time.perf_counter()
            runner = research_runner(rw, kbs=case.knowledge_bases, model=args.model)
            outcome = asyncio.run(research(rw, case.task, ToolContext(local_key("default")), kbs=case.knowledge_bases,
                                           limits=default_limits(rw.settings.agent), runner=runner))  # fmt: skip
            scores = research_scores(case, outcome, runner.store.calls(outcome.run.id), rw.embedder)
            row = {"id": case.id, "model": args.model, "seconds": round(time.perf_counter() - t0, 1),
                   "scores": {k: v.value for k, v in scores.items()}, "report": outcome.report.to_dict()}  # fmt: skip
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(case.id, json.dumps(row["scores"]), flush=True)
    finally:
        rw.close()


def table(out: Path) -> dict[str, object]:
    rows = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    names = ("claim_citation_precision", "claims_kept", "coverage", "not_found_honest", "tool_recall", "tool_precision",
             "wasted_calls", "steps", "tool_calls", "tokens")  # fmt: skip
    means = {k: round(statistics.mean(r["scores"][k] for r in rows), 3) for k in names if rows}
    return {"n": len(rows), "model": rows[0]["model"] if rows else None, **means,
            "seconds_per_task": round(statistics.mean(r["seconds"] for r in rows), 1) if rows else None}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    ap.add_argument("--out", type=Path, default=Path("bench/results/research-qwen15b.jsonl"))
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    if args.table:
        print(json.dumps(table(args.out), indent=2))
    else:
        run(args)


if __name__ == "__main__":
    main()
