"""`ragwright eval` as a user runs it: the commands in-process (typer's runner), and `run` plus the gate's exit
codes in real subprocesses through `python -m ragwright`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwright.interfaces.cli.evals import eval_app
from tests.evals.conftest import squad_json


def ragwright(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    env.update(RAGWRIGHT_EMBEDDING__MODEL="fake", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "ragwright", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_import_run_report_compare_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("RAGWRIGHT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAGWRIGHT_EMBEDDING__MODEL", "fake")
    cli = CliRunner()
    squad_json(tmp_path / "squad.json")
    done = cli.invoke(eval_app, ["import", "squad", "squad.json", "--out", "cases.jsonl"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "cases.corpus.jsonl").is_file()

    hybrid = ragwright(
        [
            "eval",
            "run",
            "cases.jsonl",
            "--ingest",
            "cases.corpus.jsonl",
            "--data-dir",
            "idx",
            "--out",
            "runs/hybrid.json",
        ],
        tmp_path,
    )
    assert hybrid.returncode == 0, hybrid.stderr
    assert "no judge model configured" in hybrid.stdout and "abstention_accuracy" in hybrid.stdout
    bm25 = cli.invoke(
        eval_app, ["run", "cases.jsonl", "--data-dir", "idx", "--mode", "bm25", "--out", "runs/bm25.json"]
    )
    assert bm25.exit_code == 0, bm25.output
    runs = {n: json.loads((tmp_path / f"runs/{n}.json").read_text()) for n in ("hybrid", "bm25")}
    assert runs["bm25"]["config"]["retrieval"]["mode"] == "bm25"
    assert runs["hybrid"]["config"]["retrieval"]["mode"] == "hybrid"

    report = cli.invoke(eval_app, ["report", "runs/hybrid.json", "--html", "out/report.html"])
    assert report.exit_code == 0 and "<svg" in (tmp_path / "out/report.html").read_text()

    compare = cli.invoke(eval_app, ["compare", "runs/hybrid.json", "runs/bm25.json", "--json"])
    deltas = {d["metric"]: d for d in json.loads(compare.stdout)["metrics"]}
    expected = (
        runs["bm25"]["summary"]["metrics"]["mrr@10"]["mean"] - runs["hybrid"]["summary"]["metrics"]["mrr@10"]["mean"]
    )
    assert abs(deltas["mrr@10"]["delta"] - expected) < 1e-5 and deltas["mrr@10"]["n"] == 8

    mrr = runs["hybrid"]["summary"]["metrics"]["mrr@10"]["mean"]
    floor = round(mrr + 0.01, 4)
    (tmp_path / "gate.toml").write_text(
        f'[metrics."mrr@10"]\nmin = {floor}\n[metrics.abstention_accuracy]\nmin = 0.5\n'
    )
    gate = ragwright(
        ["eval", "gate", "runs/hybrid.json", "--baseline", "runs/bm25.json", "--policy", "gate.toml"], tmp_path
    )
    assert gate.returncode == 1 and f"FAIL mrr@10: mean {mrr:.4f} is below the floor {floor}" in gate.stdout
    assert "pass abstention_accuracy" in gate.stdout and "gate: failed (1 checks)" in gate.stdout
    (tmp_path / "gate.toml").write_text("[metrics.abstention_accuracy]\nmin = 0.5\nmax_regression = 0.5\n")
    ok = cli.invoke(eval_app, ["gate", "runs/hybrid.json", "--baseline", "runs/bm25.json", "--policy", "gate.toml"])
    assert ok.exit_code == 0 and "gate: passed" in ok.stdout
