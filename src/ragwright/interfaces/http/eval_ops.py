"""What a key may do with a knowledge base's eval runs, shared by the JSON routes (``/v1/evals/...``) and the web
UI's Evaluations page: list and read runs, their HTML report, compare two runs, check one against the gate policy,
and start a run from a dataset (:class:`EvalLauncher`).

Who reads a run: keys of its tenant whose tag scope covers the tags of the key that started it (a run started by
the CLI, or by an unrestricted key, only unrestricted keys), the rule ingest jobs follow
(:meth:`~ragwright.service.access.TagScope.covers`): a run holds questions, answers and retrieved passages of what
its starter could read. Any other run reads as missing (:class:`~ragwright.errors.EvalRunNotFound`, 404).

Starting a run needs the ``write`` scope (it is a bulk workload that writes a record and spends on the model
gateway, like an upload; a read-only key answers questions one by one) and a key without tag limits: a dataset's
questions and reference answers are not limited by tags, so a tag-limited key neither lists datasets nor runs them
(:class:`~ragwright.errors.AccessDenied`). The run's model calls are billed to the key. One run at a time per server
process, on a thread of its own; more wait in order. Judge metrics are not computed for server-started runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import AccessDenied, EvalRunExists, EvalRunNotFound, RagwrightError, UserError
from ragwright.evals.compare import GateResult, MetricDelta, PromptChange, compare_prompts, compare_runs, gate
from ragwright.evals.records import CaseRecord, EvalRun
from ragwright.evals.report import MAX_FAILING, failing_cases, render_html
from ragwright.evals.run_store import EvalRunStore, RunEntry, RunMeta, check_name
from ragwright.evals.runner import run_eval
from ragwright.gateway.build import SyncGateway
from ragwright.models.base import Embedder
from ragwright.processes import process_start
from ragwright.redact import quote_id
from ragwright.service.access import TagScope
from ragwright.service.keys import ApiKey

__all__ = [
    "MAX_SERVER_CASES",
    "Comparison",
    "EvalLauncher",
    "GateVerdict",
    "compare",
    "gate_verdict",
    "list_datasets",
    "list_runs",
    "read_run",
    "report_html",
    "failing",
]

log = logging.getLogger("ragwright.http.evals")
MAX_SERVER_CASES = 2000
"""The most cases a run started from the server may have (the CLI has no limit)."""


def _visible(store: EvalRunStore, key: ApiKey, tenant: str, name: str) -> None:
    if not store.exists(tenant, name) or not key.scope.covers(TagScope(store.key_tags(tenant, name))):
        raise EvalRunNotFound(f"no eval run {quote_id(name)}")


def list_datasets(store: EvalRunStore, key: ApiKey, tenant: str) -> list[str]:
    """Datasets ``key`` may start a run from: all of the knowledge base's for a key without tag limits, else none."""
    return [] if key.scope.limited else store.datasets(tenant)


def list_runs(store: EvalRunStore, key: ApiKey, tenant: str) -> list[RunEntry]:
    """The knowledge base's runs that ``key`` may read, newest first."""
    return [e for e in store.list(tenant) if key.scope.covers(TagScope(e.key_tags))]


def run_entry(store: EvalRunStore, key: ApiKey, tenant: str, name: str) -> RunEntry:
    """One run's status and headline numbers (for polling a run in progress)."""
    _visible(store, key, tenant, check_name(name))
    return store.entry(tenant, name)


def read_run(store: EvalRunStore, key: ApiKey, tenant: str, name: str) -> EvalRun:
    """The finished run; :class:`EvalRunNotFound` when there is none the key may read."""
    _visible(store, key, tenant, check_name(name))
    return store.load(tenant, name)


def failing(run: EvalRun, limit: int = MAX_FAILING) -> list[CaseRecord]:
    """The run's failing cases, worst first (the report's rule: :func:`~ragwright.evals.report.failing_cases`)."""
    return failing_cases(run)[:limit]


def report_html(store: EvalRunStore, key: ApiKey, tenant: str, name: str) -> str:
    """The run's self-contained HTML report (``ragwright eval report``)."""
    return render_html(read_run(store, key, tenant, name))


@dataclass(frozen=True)
class Comparison:
    """Two runs compared on their paired cases: per-metric deltas with 95% intervals, and prompt version changes."""

    base: str
    new: str
    metrics: list[MetricDelta]
    prompts: list[PromptChange]


def compare(store: EvalRunStore, key: ApiKey, tenant: str, base: str, new: str) -> Comparison:
    base_run, new_run = read_run(store, key, tenant, base), read_run(store, key, tenant, new)
    return Comparison(base, new, compare_runs(base_run, new_run), compare_prompts(base_run, new_run))


@dataclass(frozen=True)
class GateVerdict:
    """The gate's verdict on a run (None when the knowledge base has no ``gate.toml``), against ``baseline``."""

    run: str
    baseline: str | None
    result: GateResult | None
    policy_path: str


def gate_verdict(store: EvalRunStore, key: ApiKey, tenant: str, name: str, baseline: str | None) -> GateVerdict:
    run = read_run(store, key, tenant, name)
    base = read_run(store, key, tenant, baseline) if baseline else None
    policy = store.policy(tenant)
    where = f"evals/{tenant}/gate.toml"  # relative to the data directory: never the server's absolute paths
    return GateVerdict(name, baseline, gate(run, policy, base) if policy is not None else None, where)


@dataclass(frozen=True)
class _Task:
    tenant: str
    name: str
    key: ApiKey
    kb: str


class EvalLauncher:
    """Runs eval datasets for keys, one at a time on a thread of this server process.

    Example::

        launcher = EvalLauncher(settings, store, gateway=state.gateway, embedder=lambda: rw.embedder)
        launcher.start(key, "acme", "default", dataset="smoke", name="smoke-1")
        store.entry("acme", "smoke-1").status      # queued -> running -> succeeded / failed
        launcher.close()
    """

    def __init__(
        self, settings: Settings, store: EvalRunStore, *, gateway: SyncGateway, embedder: Embedder | None = None
    ) -> None:
        self._settings = settings
        self._store = store
        self._gateway = gateway
        self._embedder = embedder
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._me = (os.getpid(), process_start(os.getpid()))

    def start(self, key: ApiKey, tenant: str, kb: str, *, dataset: str, name: str | None = None) -> RunEntry:
        """Queue a run of ``dataset`` named ``name`` (default: the dataset and a timestamp); its entry."""
        if key.scope.limited:
            raise AccessDenied("datasets are not limited by tags: only a key without tag limits may run them")
        name = check_name(name or f"{check_name(dataset, 'dataset')}-{time.strftime('%Y%m%d-%H%M%S')}")
        cases = self._store.load_dataset(tenant, dataset)
        if len(cases) > MAX_SERVER_CASES:
            raise UserError(f"dataset {dataset!r} has {len(cases)} cases; a run from the server takes at most "
                            f"{MAX_SERVER_CASES} (run larger ones with `ragwright eval run`)")  # fmt: skip
        with self._lock:
            if self._closed:
                raise RagwrightError("the server is shutting down")
            if self._store.exists(tenant, name):
                raise EvalRunExists(f"an eval run {name!r} exists already: choose another name")
            meta = RunMeta(key.key_id, key.tags, dataset, cases_total=len(cases), owner=self._me)
            self._store.put_meta(tenant, name, meta)
            self._queue.put(_Task(tenant, name, key, kb))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="ragwright-evals", daemon=True)
                self._thread.start()
        return self._store.entry(tenant, name)

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            try:
                self._run(task)
            except Exception as exc:  # recorded on the run; the thread goes on with the next one
                log.exception("eval run %s failed", task.name)
                self._finish(task, "failed", f"{type(exc).__name__}: {exc}")

    def _run(self, task: _Task) -> None:
        meta = self._store.meta(task.tenant, task.name)
        if meta is None:
            return
        meta.status = "running"
        self._store.put_meta(task.tenant, task.name, meta)
        cases = self._store.load_dataset(task.tenant, meta.dataset)[:MAX_SERVER_CASES]
        settings = self._settings.model_copy(update={"tenant": task.tenant})
        rw = Ragwright(settings, embedder=self._embedder, gateway=self._gateway)
        filters = task.key.scope.narrow(None)
        try:
            asyncio.run(
                run_eval(
                    cases,
                    rw=rw,
                    out=self._store.run_path(task.tenant, task.name),
                    concurrency=1,  # a background job: leave the server's threads to requests
                    dataset=meta.dataset,
                    filters=filters or None,
                    caller=task.key.caller(task.kb),
                )
            )
        finally:
            rw.close()
        self._finish(task, "succeeded", None)

    def _finish(self, task: _Task, status: str, error: str | None) -> None:
        meta = self._store.meta(task.tenant, task.name)
        if meta is None:
            return
        meta.status = "succeeded" if status == "succeeded" else "failed"
        meta.error, meta.finished_at = error, time.time()
        self._store.put_meta(task.tenant, task.name, meta)

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the run in progress (queued runs stay queued and fail as orphans on the next start)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout)
