"""Generators compared on answerable XQuAD-en questions: extractive, SmolLM2-135M and the Qwen2.5-Coder GGUFs.

Every answerer gets the same four passages per question (the gold paragraph and three other paragraphs of its
article, shuffled), the same prompt the ask pipeline sends, and the same sentence check. Reported per generator:
SQuAD F1/EM of the checked answer (markers removed), answer containment (the normalised gold answer inside the
answer) with the mean answer length, the share of generated sentences that pass verification, how often the model
said NOT IN DOCUMENTS, and seconds per answer (model call only). Not part of `make test`: a real model takes seconds
per answer.

    nice -n 5 python bench/generators.py --xquad ../shared/datasets/xquad-en/xquad.en.json --n 100 \\
        --generators extractive,local:smollm2,local:qwen2.5-coder-0.5b --out bench/results/generators.json
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import math
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from ragwright.answering import extractive, generative
from ragwright.answering.evidence import score_sentences
from ragwright.answering.injection_prompt import answer_messages
from ragwright.answering.verify import Failure
from ragwright.bench.squad import exact_match, f1, normalize_answer
from ragwright.config import load_settings
from ragwright.documents.model import Chunk
from ragwright.errors import GatewayError
from ragwright.gateway.providers.local import LOCAL_CONTEXT_WINDOW, LocalChatModel, generator_factory
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.generator import LocalGenerator
from ragwright.models.registry import embedder_from_settings
from ragwright.retrieval.retriever import Hit
from ragwright.store.base import StoredChunk

SEED = 7
PASSAGES = 4


def sample(xquad: Path, n: int) -> list[dict[str, Any]]:
    """A seeded sample of ``n`` questions, each with its gold paragraph and three others of its article."""
    articles = json.loads(xquad.read_text(encoding="utf-8"))["data"]
    items = []
    for a, article in enumerate(articles):
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                items.append({"article": a, "para": p, "qa": qa, "title": article["title"]})
    rng = random.Random(SEED)
    chosen = rng.sample(items, n)
    for item in chosen:
        paras = articles[item["article"]]["paragraphs"]
        others = [i for i in range(len(paras)) if i != item["para"]]
        shown = [item["para"], *rng.sample(others, min(PASSAGES - 1, len(others)))]
        rng.shuffle(shown)
        item["passages"] = [(f"{item['title']}#{i}", paras[i]["context"]) for i in shown]
    return chosen


def hits_of(passages: list[tuple[str, str]], title: str) -> list[Hit]:
    hits = []
    for rank, (source, text) in enumerate(passages):
        chunk = Chunk(id=source, doc_id=source, ordinal=0, text=text, context=title, char_start=0, char_end=len(text))
        hits.append(Hit(rank=rank, score=0.0, chunk=StoredChunk(chunk, source, title, "squad")))
    return hits


def load_average() -> float:
    """The machine's 1-minute load average (other processes share the cores: timings are read beside it)."""
    return (
        float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").is_file() else os.getloadavg()[0]
    )


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean figures over one generator's rows (percentages, one decimal)."""
    shares = [r["kept_share"] for r in rows if r["kept_share"] is not None]
    seconds = [r["seconds"] for r in rows]
    loads = [r["load"] for r in rows]

    def pct(key: str) -> float:
        return round(100 * statistics.mean(float(r[key]) for r in rows), 1)

    return {
        "n": len(rows),
        "f1": pct("f1"),
        "em": pct("em"),
        "containment": pct("contains"),
        "raw_f1": pct("raw_f1"),
        "raw_containment": pct("raw_contains"),
        "mean_words": round(statistics.mean(r["words"] for r in rows), 1),
        "sentences_passing_verification": round(100 * statistics.mean(shares), 1) if shares else None,
        "answers_with_a_sentence": len(shares),
        "model_abstained": pct("abstained"),
        "errors": sum(1 for r in rows if r.get("error")),
        "seconds_per_answer_p50": round(statistics.median(seconds), 2),
        "seconds_per_answer_mean": round(statistics.mean(seconds), 2),
        "seconds_per_answer_p90": round(sorted(seconds)[math.ceil(0.9 * len(seconds)) - 1], 2),
        "load_1min_mean": round(statistics.mean(loads), 2),
        "load_1min_max": round(max(loads), 2),
    }


def contains(answer: str, golds: tuple[str, ...]) -> bool:
    plain = normalize_answer(answer)
    return bool(plain) and any(normalize_answer(g) in plain for g in golds)


def build_model(name: str, threads: int) -> LocalChatModel | None:
    """The ``local:`` chat model a bench name stands for (None for ``extractive``) on ``threads`` llama.cpp threads."""
    if name == "extractive":
        return None
    spec = name.partition(":")[2]
    build = generator_factory(spec, LOCAL_CONTEXT_WINDOW)

    def factory() -> LocalGenerator:
        gen = build()
        gen.threads = threads  # type: ignore[attr-defined]
        return gen  # type: ignore[return-value]

    return LocalChatModel(spec, factory=factory)


def answer_row(
    name: str, model: LocalChatModel | None, item: dict[str, Any], embedder: Any, args: Any
) -> dict[str, Any]:
    """One generator's answer to one question, checked, scored and timed (the load average read just before)."""
    question = item["qa"]["question"]
    golds = tuple(a["text"] for a in item["qa"]["answers"])
    scored = score_sentences(question, hits_of(item["passages"], item["title"]), embedder)
    error = None
    load = load_average()
    clock = time.perf_counter()
    if model is None:
        text, _ = extractive.compose(extractive.select(scored, max_sentences=args.max_sentences))
        seconds = time.perf_counter() - clock
        raw, generated, kept_share, abstained = text, 0, None, False
    else:
        system, user = answer_messages(question, item["passages"])
        request = ChatRequest(
            model=name,
            temperature=0.0,
            seed=0,
            max_tokens=args.max_tokens,
            messages=(Message("system", system), Message("user", user)),
        )
        try:
            raw = asyncio.run(model.chat(request)).text or ""
        except GatewayError as exc:  # a prompt over the window: a failed answer, not a crashed run
            raw, error = "", f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - clock
        checked = generative.check_citations(raw, scored, embedder)
        text = checked.text
        generated = len([v for v in checked.verdicts if v.failure is not Failure.REPEAT])  # repeats are collapsed
        kept_share = sum(v.supported for v in checked.verdicts) / generated if generated else None
        abstained = checked.model_abstained and not checked.text
    plain = generative._MARKER.sub("", text).strip()
    raw_plain = generative._MARKER.sub("", raw).strip()
    return {
        "id": item["qa"]["id"],
        "f1": f1(plain, golds),
        "em": exact_match(plain, golds),
        "contains": contains(plain, golds),
        "raw_f1": f1(raw_plain, golds),
        "raw_contains": contains(raw_plain, golds),
        "words": len(plain.split()),
        "seconds": seconds,
        "load": load,
        "sentences": generated,
        "kept_share": kept_share,
        "abstained": abstained,
        "error": error,
        "answer": plain[:300],
        "raw": raw[:300],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Question by question, every generator in turn (so a run cut short compares all of them on the same questions);
    rows already in ``--out`` for the same sample are kept, so a restarted run carries on where it stopped."""
    items = sample(args.xquad, args.n)
    embedder = embedder_from_settings(load_settings().embedding)
    args.max_sentences = load_settings().answer.max_sentences
    names = args.generators.split(",")
    threads = {name: args.threads for name in names}
    results: dict[str, Any] = {"n": args.n, "seed": SEED, "passages": PASSAGES, "threads": threads, "runs": {}}
    if args.out and args.out.is_file():
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        if (previous.get("n"), previous.get("seed"), previous.get("passages")) == (args.n, SEED, PASSAGES):
            results["runs"] = previous.get("runs", {})
    rows = {name: {r["id"]: r for r in results["runs"].get(name, {}).get("rows", [])} for name in names}
    models = {name: build_model(name, args.threads) for name in names}
    for k, item in enumerate(items):
        for name in names:
            if item["qa"]["id"] in rows[name]:
                continue
            row = answer_row(name, models[name], item, embedder, args)
            rows[name][row["id"]] = row
            ordered = [rows[name][i["qa"]["id"]] for i in items if i["qa"]["id"] in rows[name]]
            results["runs"][name] = {**summary(ordered), "rows": ordered}
            results["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            print(name, k + 1, round(row["seconds"], 1), f"load {row['load']}", repr(row["answer"][:80]), flush=True)
            if args.out:
                write(args.out, results, names)
    return results


def write(out: Path, results: dict[str, Any], names: list[str]) -> None:
    """Merge this process's runs into ``out`` and replace it atomically, under a lock: two processes (one per model
    group) can share one file, and a crash mid-write never loses the rows already there."""
    with (out.parent / f".{out.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = dict(results)
        if out.is_file():
            current = json.loads(out.read_text(encoding="utf-8"))
            if (current.get("n"), current.get("seed"), current.get("passages")) == (
                results["n"],
                SEED,
                PASSAGES,
            ):
                runs = {k: v for k, v in current.get("runs", {}).items() if k not in names}
                merged["runs"] = {**runs, **{k: v for k, v in results["runs"].items() if k in names}}
                merged["threads"] = {
                    **_as_dict(current.get("threads"), current),
                    **_as_dict(results["threads"], results),
                }
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")
        tmp.replace(out)


def _as_dict(threads: Any, results: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp threads per generator (older files hold one number for all)."""
    return threads if isinstance(threads, dict) else {name: threads for name in results.get("runs", {})}


def common(results: dict[str, Any]) -> dict[str, Any]:
    """Every generator's figures on the questions all of them answered (a run cut short compares like with like)."""
    runs = results["runs"]
    shared = set.intersection(*({r["id"] for r in run["rows"]} for run in runs.values())) if runs else set()
    return {
        "n": len(shared),
        "runs": {name: summary([r for r in run["rows"] if r["id"] in shared]) for name, run in runs.items()}
        if shared
        else {},
    }


def table(results: dict[str, Any]) -> str:
    """The README table (markdown) over the questions every generator answered."""
    both = common(results)
    lines = [
        f"| answerer (n = {both['n']} common questions) | F1 | EM | containment (mean words) | raw F1 / containment "
        "| sentences passing verification | said NOT IN DOCUMENTS | s per answer p50 (mean) | load avg during |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in both["runs"].items():
        passing = "n/a" if r["sentences_passing_verification"] is None else f"{r['sentences_passing_verification']} %"
        lines.append(
            f"| `{name}` | {r['f1']} | {r['em']} | {r['containment']} % ({r['mean_words']}) "
            f"| {r['raw_f1']} / {r['raw_containment']} % | {passing} | {r['model_abstained']} % "
            f"| {r['seconds_per_answer_p50']} ({r['seconds_per_answer_mean']}) "
            f"| {r['load_1min_mean']} (max {r['load_1min_max']}) |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xquad", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument(
        "--generators", default="extractive,local:smollm2,local:qwen2.5-coder-0.5b,local:qwen2.5-coder-1.5b"
    )
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a shared machine: see docs)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--table", type=Path, help="print the markdown table of this result file (no run)")
    args = ap.parse_args()
    if args.table:
        data = json.loads(args.table.read_text(encoding="utf-8"))
        print(json.dumps({k: v for k, v in common(data).items()}, indent=1))
        print(table(data))
        return
    if args.xquad is None:
        ap.error("--xquad is required for a run")
    data = run(args)
    for name, r in data["runs"].items():
        print(name, {k: v for k, v in r.items() if k != "rows"})


if __name__ == "__main__":
    main()
