"""Ingest jobs show up in /metrics: finished jobs counted by status, and nothing left pending once they finish."""

from __future__ import annotations

import re

from tests.http.conftest import Server


def _metric(text: str, line_start: str) -> float:
    match = re.search(rf"^{re.escape(line_start)} (\S+)$", text, re.MULTILINE)
    assert match, f"{line_start} not in /metrics"
    return float(match.group(1))


def test_finished_jobs_are_counted_by_status(server: Server) -> None:
    key = server.key("acme")
    with server.client() as c:
        assert "ragwright_ingest_jobs_total{" not in c.get("/metrics").text  # nothing counted before any job
    assert server.upload(key, {"a.md": b"# A\n\nThe kettle descales with citric acid.\n"})["status"] == "succeeded"
    # A job whose file cannot be read still finishes (with a per-file reason), and is counted once.
    assert server.upload(key, {"b.pdf": b"not a pdf at all"})["status"] == "succeeded"
    with server.client() as c:
        text = c.get("/metrics").text
    assert _metric(text, 'ragwright_ingest_jobs_total{status="succeeded"}') == 2.0
    assert 'ragwright_ingest_jobs_total{status="failed"}' not in text
    assert _metric(text, "ragwright_ingest_jobs_pending") == 0.0
