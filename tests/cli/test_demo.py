"""What `make demo` shows, checked with the real local embedder on the bundled sample corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_corpus_answers_with_citations_and_abstains(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    data = ["--data-dir", str(tmp_path / "index")]
    cmd = [sys.executable, "-m", "ragwright"]
    ing = subprocess.run(
        [*cmd, "ingest", str(ROOT / "examples/sample-docs"), *data, "--json", "--strict"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout)["failed"] == 0
    questions = (ROOT / "examples/demo_questions.txt").read_text(encoding="utf-8").splitlines()
    out = subprocess.run(
        [*cmd, "ask", *questions, *data, "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    power, reset, noise = json.loads(out.stdout)
    assert "65 W" in power["text"] and power["citations"][0]["page"] == 2
    assert power["citations"][0]["doc_path"].endswith("datasheet.pdf")
    assert "12 seconds" in reset["text"] and reset["citations"][0]["heading_path"][-1] == "Factory reset"
    assert noise["abstained"] is True and noise["closest"]
