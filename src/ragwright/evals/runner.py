"""The eval runner: every case through the pipeline, then through every metric, concurrently and resumably.

Each finished case is appended (one JSON line, flushed) to a sidecar file ``<out>.cases.jsonl`` whose first line
fingerprints the configuration. Re-running after an interruption reads the sidecar and skips the finished cases; a
sidecar written under another configuration is refused rather than mixed in. At the end the records are folded into
``<out>`` (written atomically) and the sidecar is removed.

Example::

    rw = Ragwright(settings)
    run = asyncio.run(run_eval(load_cases(Path("cases.jsonl")), rw=rw, out=Path("runs/base.json")))
    run.summary.metrics["ndcg@10"].mean
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragwright.answering.types import Answer
from ragwright.app import Ragwright
from ragwright.errors import RagwrightError, UserError
from ragwright.evals.dataset import Case, doc_key
from ragwright.evals.judge import Judge, JudgeLedger, current_ledger
from ragwright.evals.judged import judged_metrics
from ragwright.evals.metrics import offline_metrics, ranked_docs
from ragwright.evals.records import RUN_FORMAT, CaseRecord, CitedPassage, EvalRun, RetrievedPassage, RunTiming
from ragwright.evals.rubrics import prompt_versions
from ragwright.evals.scores import Metric, Score
from ragwright.evals.summary import summarize
from ragwright.gateway.types import RequestContext
from ragwright.store.base import Filters

__all__ = ["NO_JUDGE_NOTE", "RUN_FORMAT", "load_run", "run_eval", "sidecar_path"]
NO_JUDGE_NOTE = (
    "judge metrics (faithfulness, citation_precision, answer_relevance) not computed: no judge model "
    'configured (set gateway.judge, e.g. "openai:gpt-4o-mini")'
)
PASSAGE_CHARS = 600


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.name + ".cases.jsonl")


ANSWER_PROMPTS = ("answer", "condense", "verify_judge")
"""The answerer's prompts (registry names) recorded with every run, beside the judge rubrics'."""


def _prompt_versions(rw: Ragwright, judge: Judge | None) -> dict[str, str]:
    """The version tag of every prompt the run renders (``answer/v2#1c0f7a2e``): the registry's ``production``, or
    the version pinned with ``rw.prompt_pins`` (``ragwright eval run --prompt answer=2``)."""
    source, tenant = rw.prompt_source, rw.settings.tenant
    answering = {name: source.resolve(tenant, name).tag for name in ANSWER_PROMPTS}
    rubrics = prompt_versions(judge.prompts, judge.tenant) if judge is not None else prompt_versions(source, tenant)
    return {**answering, **rubrics}


def _config(rw: Ragwright, judge: Judge | None) -> dict[str, Any]:  # settings sections as dumped: stays a dict
    s = rw.settings
    return {
        "tenant": s.tenant,
        "embedding": s.embedding.model_dump(mode="json"),
        "retrieval": s.retrieval.model_dump(mode="json"),
        "answer": s.answer.model_dump(mode="json"),
        "judge": judge.name if judge is not None else None,
    }


def _record(
    case: Case, answer: Answer, scores: dict[str, Score], pipeline_ms: float, eval_ms: float, ledger: JudgeLedger
) -> CaseRecord:
    return CaseRecord(
        id=case.id,
        question=case.question,
        tags=list(case.tags),
        answerable=case.answerable,
        reference_answer=case.reference_answer,
        answer=answer.text,
        abstained=answer.abstained,
        support=round(answer.support, 4),
        answerability=round(answer.answerability, 4) if answer.answerability is not None else None,
        answered_by=answer.answered_by.value,
        model=answer.model,
        citations=[CitedPassage(c.n, doc_key(c.doc_path), c.chunk_id, c.snippet) for c in answer.citations],
        retrieved=[
            RetrievedPassage(doc_key(r.doc_path), r.chunk_id, round(r.score, 6), r.text[:PASSAGE_CHARS])
            for r in answer.retrieved
        ],
        retrieved_ids=ranked_docs(answer),
        scores=scores,
        timings_ms={
            "pipeline": round(pipeline_ms, 3),
            "eval": round(eval_ms, 3),
            **{k: round(v, 3) for k, v in answer.timings_ms.items()},
        },
        judge=ledger,
    )


def _read_sidecar(path: Path, fingerprint: str) -> dict[str, CaseRecord]:
    if not path.exists():
        return {}
    done: dict[str, CaseRecord] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:  # killed before its header was written: nothing to resume
        path.unlink()
        return done
    header = json.loads(lines[0]) if lines else {}
    if header.get("fingerprint") != fingerprint:
        raise UserError(
            f"{path} holds a partial run under another configuration or dataset: delete it, or pass "
            f"--fresh, to start over"
        )
    for line in lines[1:]:
        try:
            rec = CaseRecord.from_json(json.loads(line))
        except json.JSONDecodeError:  # the line being written when the run was killed
            continue
        done[rec.id] = rec
    return done


async def _evaluate_case(
    case: Case, ask: Callable[[Case], tuple[Answer, float]], metrics: Sequence[Metric], *, inline: bool
) -> CaseRecord:
    """One case through the pipeline and every metric, as its record. A pipeline failure is recorded, not raised.

    One case at a time (``inline``) asks on the event loop's thread: a thread hand-off costs GIL switches on every
    case. With several in flight the pipeline runs in worker threads, so judge calls overlap it."""
    try:
        answer, pipeline_ms = ask(case) if inline else await asyncio.to_thread(ask, case)
    except RagwrightError as exc:
        return CaseRecord(
            id=case.id,
            question=case.question,
            tags=list(case.tags),
            answerable=case.answerable,
            error=f"{type(exc).__name__}: {exc}",
            timings_ms={"pipeline": 0.0},
        )
    ledger = JudgeLedger()
    current_ledger.set(ledger)  # this task's own context: the judge bills this case
    clock = time.perf_counter()
    scores: dict[str, Score] = {}
    for metric in metrics:
        score = await metric.evaluate(case, answer)
        if score is not None:
            scores[metric.name] = score
    return _record(case, answer, scores, pipeline_ms, (time.perf_counter() - clock) * 1000.0, ledger)


async def run_eval(
    cases: Sequence[Case],
    *,
    rw: Ragwright,
    out: Path,
    judge: Judge | None = None,
    concurrency: int = 4,
    metrics: Sequence[Metric] | None = None,
    dataset: str = "",
    fresh: bool = False,
    on_case: Callable[[int, int], None] | None = None,
    filters: Filters | None = None,
    caller: RequestContext | None = None,
) -> EvalRun:
    """Evaluate ``cases``; returns the run (also written to ``out``). See the module docstring for resuming.

    ``filters`` restrict what every case may retrieve (a run started by a tag-limited key searches only its tags);
    ``caller`` is who the model calls are billed to (budgets, usage)."""
    if metrics is None:
        metrics = [*offline_metrics(), *(judged_metrics(judge) if judge is not None else [])]
    config = _config(rw, judge)
    versions = _prompt_versions(rw, judge)
    case_blob = json.dumps([c.model_dump() for c in cases], sort_keys=True).encode("utf-8")
    fingerprint = hashlib.sha256(
        json.dumps(
            [config, versions, hashlib.sha256(case_blob).hexdigest(), [m.name for m in metrics]], sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    side = sidecar_path(out)
    if fresh and side.exists():
        side.unlink()
    done = _read_sidecar(side, fingerprint)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not side.exists():
        side.write_text(json.dumps({"fingerprint": fingerprint, "format": RUN_FORMAT}) + "\n", encoding="utf-8")
    _ = rw.retriever  # fail fast (no index, wrong embedder) before any case runs
    todo = [c for c in cases if c.id not in done]
    total, finished = len(cases), len(cases) - len(todo)
    if on_case is not None:
        on_case(finished, total)
    sem = asyncio.Semaphore(max(concurrency, 1))
    started = time.perf_counter()

    def ask(case: Case) -> tuple[Answer, float]:
        clock = time.perf_counter()
        answer = rw.ask(case.question, history=case.turns, filters=filters, caller=caller)
        return answer, (time.perf_counter() - clock) * 1000.0

    with side.open("a", encoding="utf-8") as sink:
        if not side.read_bytes().endswith(b"\n"):
            sink.write("\n")  # end the line a killed run left half-written, so the next record starts cleanly

        failed: list[BaseException] = []

        async def one(case: Case) -> None:
            async with sem:
                if failed:  # an earlier case raised: start nothing new
                    return
                try:
                    await evaluate(case)
                except BaseException as exc:
                    failed.append(exc)
                    raise

        async def evaluate(case: Case) -> None:
            nonlocal finished
            rec = await _evaluate_case(case, ask, metrics, inline=concurrency <= 1)
            sink.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")
            sink.flush()
            done[case.id] = rec
            finished += 1
            if on_case is not None:
                on_case(finished, total)

        tasks = [asyncio.ensure_future(one(c)) for c in todo]
        try:
            await asyncio.gather(*tasks)
        except BaseException:  # interrupted: stop the cases in flight; the sidecar keeps the finished ones
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    wall_s = time.perf_counter() - started
    records = [done[c.id] for c in cases]
    run_now = {c.id for c in todo}
    pipeline_s = sum(r.pipeline_ms for r in records if r.id in run_now) / 1000
    run = EvalRun(
        name=out.stem,
        dataset=dataset,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config=config,
        prompt_versions=versions,
        fingerprint=fingerprint,
        judge_note=None if judge is not None else NO_JUDGE_NOTE,
        timing=RunTiming(
            cases_run_now=len(todo),
            resumed=total - len(todo),
            wall_s=round(wall_s, 3),
            pipeline_s=round(pipeline_s, 3),
            concurrency=concurrency,
            judge_calls=judge.calls if judge is not None else 0,
            judge_cache_hits=judge.cache_hits if judge is not None else 0,
        ),
        summary=summarize(records),
        cases=records,
    )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(
        json.dumps(run.to_json(), ensure_ascii=False) + "\n", encoding="utf-8"
    )  # no indent: C encoder, 10x faster
    tmp.replace(out)
    side.unlink()
    return run


def load_run(path: Path) -> EvalRun:
    """A run JSON written by :func:`run_eval` (this version or an earlier one); UserError if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read run {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise UserError(f"{path} is not a ragwright eval run (format {found!r})")
    try:
        return EvalRun.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path} is a damaged ragwright eval run: {exc!r}") from None
