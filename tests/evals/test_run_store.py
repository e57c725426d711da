"""The server's eval run files (evals/run_store.py): runs written by the CLI are listed with no key's tags, a run
whose server process is gone reads as failed, progress comes from the runner's sidecar, names are checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragwright.errors import EvalRunNotFound, UserError
from ragwright.evals.records import CaseRecord, EvalRun
from ragwright.evals.run_store import EvalRunStore, RunMeta
from ragwright.evals.runner import sidecar_path
from ragwright.evals.summary import summarize


def _write_run(store: EvalRunStore, tenant: str, name: str) -> None:
    cases = [CaseRecord(id="c1", question="q?"), CaseRecord(id="c2", question="r?")]
    path = store.run_path(tenant, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(EvalRun(name=name, cases=cases, summary=summarize(cases)).to_json()), encoding="utf-8")


def test_cli_runs_and_server_runs_are_listed_newest_first_with_their_status(tmp_path: Path) -> None:
    store = EvalRunStore(tmp_path)
    _write_run(store, "acme", "cli")
    entry = store.entry("acme", "cli")
    assert (entry.status, entry.key_tags, entry.cases) == ("succeeded", (), 2)
    store.put_meta("acme", "going", RunMeta("k1", ("public",), "smoke", status="running", cases_total=5,
                                            owner=(os.getpid(), None)))  # fmt: skip
    sidecar = sidecar_path(store.run_path("acme", "going"))
    sidecar.write_text('{"fingerprint": "x"}\n{"id": "c1"}\n{"id": "c2"}\n', encoding="utf-8")
    going = store.entry("acme", "going")
    assert (going.status, going.cases_done, going.cases, going.key_tags) == ("running", 2, 5, ("public",))
    assert [e.name for e in store.list("acme")] == ["going", "cli"]
    assert store.list("other") == [] and store.datasets("acme") == []
    assert oct(store.meta_path("acme", "going").stat().st_mode & 0o777) == "0o600"


def test_a_run_whose_server_process_is_gone_reads_as_failed(tmp_path: Path) -> None:
    store = EvalRunStore(tmp_path)
    store.put_meta("acme", "lost", RunMeta("k1", (), "smoke", status="running", owner=(2**22 + 12345, 1.0)))
    lost = store.entry("acme", "lost")
    assert lost.status == "failed" and "stopped" in (lost.error or "")


def test_names_are_checked_and_missing_runs_are_typed(tmp_path: Path) -> None:
    store = EvalRunStore(tmp_path)
    for bad in ("../x", ".hidden", "a/b", "x.json", ""):
        with pytest.raises(UserError):
            store.run_path("acme", bad)
    with pytest.raises(UserError):
        store.tenant_dir("../acme")
    with pytest.raises(EvalRunNotFound):
        store.load("acme", "nothing")
    with pytest.raises(EvalRunNotFound):
        store.load_dataset("acme", "nothing")
