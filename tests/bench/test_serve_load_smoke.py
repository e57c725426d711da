"""bench/serve_load.py end to end on a tiny synthetic index with the fake embedder: 2 seconds of real load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench/serve_load.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    "generator",
    ["python", pytest.param("wrk", marks=pytest.mark.skipif(not shutil.which("wrk"), reason="wrk not installed"))],
)
def test_serve_load_smoke(tmp_path: Path, generator: str) -> None:
    out = tmp_path / "load.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--synthetic",
            "--docs",
            "40",
            "--embedder",
            "fake",
            "--seconds",
            "2",
            "--concurrency",
            "2",
            "--warmup",
            "3",
            "--generator",
            generator,
            "--index",
            str(tmp_path / "index"),
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == 0 and result["detail"]["requests"] > 0
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["config"]["index"]["docs"] == 40 and result["config"]["generator"] == generator
