"""`ragwright usage` end to end, in a subprocess, over a ledger written by the real writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ragwright.gateway.ledger import UsageLedger, UsageRecord


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")} | {"COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "ragwright", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_usage_command_summarises_spend_by_tenant_as_table_and_json(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "data" / "usage.sqlite")
    for i in range(3):
        ledger.record(
            UsageRecord(
                ts=1_790_000_000.0 + i,
                tenant="acme",
                model_requested="rag",
                model="openai:gpt-4o-mini",
                input_tokens=100,
                output_tokens=10,
                cost_usd=0.001,
            )
        )
    ledger.record(
        UsageRecord(
            ts=1_790_000_000.0, tenant="beta", model_requested="rag", status="error", error_type="AllProvidersFailed"
        )
    )
    ledger.close()
    out = run(["usage", "--by", "tenant", "--json", "--data-dir", "data"], tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    rows = {r["group"]: r for r in report["rows"]}
    assert rows["acme"]["calls"] == 3 and abs(rows["acme"]["cost_usd"] - 0.003) < 1e-12
    assert rows["acme"]["input_tokens"] == 300 and rows["beta"]["errors"] == 1
    table = run(["usage", "--by", "model", "--data-dir", "data"], tmp_path)
    assert table.returncode == 0 and "openai:gpt-4o-mini" in table.stdout and "0.003000" in table.stdout
    later = run(["usage", "--since", "2030-01-01", "--data-dir", "data"], tmp_path)
    assert later.returncode == 0 and "no calls recorded" in later.stdout
    bad = run(["usage", "--by", "planet", "--data-dir", "data"], tmp_path)
    assert bad.returncode == 2 and "--by must be one of" in bad.stderr
