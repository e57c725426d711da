"""Where a server keeps a knowledge base's eval runs and datasets: files under ``<data_dir>/evals/<store tenant>/``.

::

    <data_dir>/evals/acme/                 knowledge base "default" of tenant acme (acme.handbook: kb "handbook")
        datasets/smoke.jsonl               cases (``ragwright eval import ...`` writes them; copy them here)
        runs/base.json                     a run (``ragwright eval run ... --out <here>/runs/base.json``)
        runs/base.meta.json                who started it from the server, and how it is going (see RunMeta)
        runs/base.json.cases.jsonl         the runner's sidecar while a run is going: its progress
        gate.toml                          the gate policy the Evaluations page checks runs against (optional)

A run without a ``.meta.json`` (one written by the CLI) was not limited by any key's tags: only unrestricted keys
see it, like an ingest job of an unrestricted key (:mod:`ragwright.service.access`).

Loaded runs are remembered by path, size and modification time, so listing runs reads each file once.

Example::

    runs = EvalRunStore(settings.data_dir / "evals")
    [e.name for e in runs.list("acme")]          # newest first
    runs.load("acme", "base").summary.metrics["ndcg@10"].mean
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from ragwright.errors import EvalRunNotFound, UserError
from ragwright.evals.compare import GatePolicy, load_policy
from ragwright.evals.dataset import Case, load_cases
from ragwright.evals.records import EvalRun
from ragwright.evals.runner import load_run, sidecar_path
from ragwright.private_files import open_private, private_dir
from ragwright.processes import alive
from ragwright.redact import quote_id

__all__ = ["NAME_RE", "EvalRunStore", "RunEntry", "RunMeta", "RunStatus"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
RunStatus = Literal["queued", "running", "succeeded", "failed"]
_CACHE_RUNS = 32


@dataclass
class RunMeta:
    """A server-started run: the key that started it (its tags limit who reads the run), the dataset, the status."""

    key_id: str
    key_tags: tuple[str, ...]
    dataset: str
    status: RunStatus = "queued"
    cases_total: int = 0
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    owner: tuple[int, float | None] | None = None
    """The server process (pid, start time) running it: a run whose owner is gone failed with it."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunMeta:
        data = json.loads(text)
        data["key_tags"] = tuple(data.get("key_tags", ()))
        if data.get("owner") is not None:
            data["owner"] = tuple(data["owner"])
        return cls(**data)


@dataclass(frozen=True)
class RunEntry:
    """One run as listed: its name, status, when it finished, its headline numbers and whose tags limit it."""

    name: str
    status: RunStatus
    key_tags: tuple[str, ...]
    dataset: str
    finished_at: str
    cases: int
    cases_done: int
    metrics: dict[str, float | None]
    error: str | None = None
    modified: float = 0.0


def check_name(name: str, what: str = "run") -> str:
    """``name`` if it can name a run or dataset file, else :class:`UserError`."""
    if not NAME_RE.match(name) or name.endswith((".json", ".jsonl", ".meta")):
        raise UserError(
            f"invalid {what} name {quote_id(name)}: 1-100 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        )
    return name


class EvalRunStore:
    """Runs and datasets of every knowledge base under one directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._cache: OrderedDict[Path, tuple[tuple[int, int], EvalRun]] = OrderedDict()

    # -- paths ---------------------------------------------------------------------------------------------------

    def tenant_dir(self, tenant: str) -> Path:
        if not NAME_RE.match(tenant):
            raise UserError(f"invalid store tenant {quote_id(tenant)}")
        return self.root / tenant

    def run_path(self, tenant: str, name: str) -> Path:
        return self.tenant_dir(tenant) / "runs" / f"{check_name(name)}.json"

    def meta_path(self, tenant: str, name: str) -> Path:
        return self.tenant_dir(tenant) / "runs" / f"{check_name(name)}.meta.json"

    def dataset_path(self, tenant: str, name: str) -> Path:
        return self.tenant_dir(tenant) / "datasets" / f"{check_name(name, 'dataset')}.jsonl"

    def policy_path(self, tenant: str) -> Path:
        return self.tenant_dir(tenant) / "gate.toml"

    # -- reads ---------------------------------------------------------------------------------------------------

    def datasets(self, tenant: str) -> list[str]:
        """Names of the knowledge base's datasets (``datasets/<name>.jsonl``), sorted."""
        folder = self.tenant_dir(tenant) / "datasets"
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.jsonl") if NAME_RE.match(p.stem))

    def load_dataset(self, tenant: str, name: str) -> list[Case]:
        path = self.dataset_path(tenant, name)
        if not path.is_file():
            raise EvalRunNotFound(f"no dataset {quote_id(name)}")
        return load_cases(path)

    def policy(self, tenant: str) -> GatePolicy | None:
        """The knowledge base's gate policy, or None when it has no ``gate.toml``."""
        path = self.policy_path(tenant)
        return load_policy(path) if path.is_file() else None

    def meta(self, tenant: str, name: str) -> RunMeta | None:
        """The server's record of a run it started (None for a run written by the CLI)."""
        path = self.meta_path(tenant, name)
        try:
            meta = RunMeta.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"damaged run record {path.name}: {exc}") from None
        if meta.status in ("queued", "running") and meta.owner is not None and not alive(*meta.owner):
            meta.status, meta.error = "failed", "the server process running it stopped before it finished"
        return meta

    def key_tags(self, tenant: str, name: str) -> tuple[str, ...]:
        """The tags that limit who reads a run: its starter's, or none (unrestricted keys only) for a CLI run."""
        meta = self.meta(tenant, name)
        return meta.key_tags if meta is not None else ()

    def exists(self, tenant: str, name: str) -> bool:
        return self.run_path(tenant, name).is_file() or self.meta_path(tenant, name).is_file()

    def load(self, tenant: str, name: str) -> EvalRun:
        """The finished run; :class:`EvalRunNotFound` when there is none (yet)."""
        path = self.run_path(tenant, name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise EvalRunNotFound(f"no finished eval run {quote_id(name)}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == stamp:
                self._cache.move_to_end(path)
                return hit[1]
        run = load_run(path)
        with self._lock:
            self._cache[path] = (stamp, run)
            while len(self._cache) > _CACHE_RUNS:
                self._cache.popitem(last=False)
        return run

    def list(self, tenant: str) -> list[RunEntry]:
        """Every run of the knowledge base (finished, going, or failed), newest first."""
        folder = self.tenant_dir(tenant) / "runs"
        if not folder.is_dir():
            return []
        names = {p.name[: -len(".meta.json")] for p in folder.glob("*.meta.json")}
        names |= {p.stem for p in folder.glob("*.json") if not p.name.endswith(".meta.json")}
        entries = [self.entry(tenant, n) for n in sorted(names) if NAME_RE.match(n)]
        return sorted(entries, key=lambda e: e.modified, reverse=True)

    def entry(self, tenant: str, name: str) -> RunEntry:
        meta = self.meta(tenant, name)
        path = self.run_path(tenant, name)
        tags = meta.key_tags if meta is not None else ()
        if path.is_file() and (meta is None or meta.status == "succeeded"):
            run = self.load(tenant, name)
            return RunEntry(
                name=name,
                status="succeeded",
                key_tags=tags,
                dataset=meta.dataset if meta is not None else Path(run.dataset).stem,
                finished_at=run.finished_at,
                cases=run.summary.cases,
                cases_done=run.summary.cases,
                metrics={k: m.mean for k, m in run.summary.metrics.items()},
                modified=path.stat().st_mtime,
            )
        if meta is None:
            raise EvalRunNotFound(f"no eval run {quote_id(name)}")
        return RunEntry(
            name=name,
            status=meta.status,
            key_tags=tags,
            dataset=meta.dataset,
            finished_at="",
            cases=meta.cases_total,
            cases_done=self._cases_done(path),
            metrics={},
            error=meta.error,
            modified=meta.created_at,
        )

    @staticmethod
    def _cases_done(run_path: Path) -> int:
        """Finished cases of a run in progress: the sidecar's lines after its header."""
        try:
            with sidecar_path(run_path).open("rb") as fh:
                return max(0, sum(1 for line in fh if line.strip()) - 1)
        except FileNotFoundError:
            return 0

    # -- writes --------------------------------------------------------------------------------------------------

    def put_meta(self, tenant: str, name: str, meta: RunMeta) -> None:
        """Write a run's record (owner-only, replaced atomically)."""
        path = self.meta_path(tenant, name)
        private_dir(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        with open_private(tmp) as fh:
            fh.write(meta.to_json().encode("utf-8"))
        tmp.replace(path)
