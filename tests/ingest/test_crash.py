"""SIGKILL in the middle of an ingest leaves a consistent index, and the next run completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.config import load_settings

N_FILES = 400


def _consistent(db_path: Path) -> tuple[int, int]:
    """Every stored document has exactly its chunks; returns (documents, chunks)."""
    db = sqlite3.connect(db_path)
    docs = db.execute("SELECT tenant, doc_id, n_chunks FROM documents").fetchall()
    for tenant, doc_id, n in docs:
        got = db.execute("SELECT COUNT(*) FROM chunks WHERE tenant=? AND doc_id=?", (tenant, doc_id)).fetchone()[0]
        assert got == n, f"{doc_id}: {got} chunk rows, document says {n}"
    orphans = db.execute(
        "SELECT COUNT(*) FROM chunks c LEFT JOIN documents d ON d.tenant=c.tenant AND d.doc_id=c.doc_id"
        " WHERE d.doc_id IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    n_chunks = db.execute("SELECT COALESCE(SUM(n_chunks), 0) FROM tenants").fetchone()[0]
    assert n_chunks == chunks, "tenant statistics drifted from the chunk rows"
    db.close()
    return len(docs), chunks


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_consistent_index_that_next_run_completes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(N_FILES):
        (docs / f"f{i:04d}.md").write_text(
            f"# File {i}\n\n## Part\n\nword{i} " * 3 + "\n\n## Other\n\nmore text", encoding="utf-8"
        )
    env = {**os.environ, "RAGWRIGHT_EMBEDDING__MODEL": "fake", "RAGWRIGHT_DATA_DIR": str(tmp_path / "index")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright", "ingest", str(docs)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    db_path = tmp_path / "index" / "index.sqlite"
    deadline = time.monotonic() + 180  # a subprocess importing ragwright: seconds when idle, a minute at load 25
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            try:
                db = sqlite3.connect(db_path, timeout=0.1)
                count = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                db.close()
            except sqlite3.Error:
                count = 0
            if count >= 20:
                break
        time.sleep(0.005)
    assert proc.poll() is None, "ingest finished before it could be killed; raise N_FILES"
    assert count >= 20, f"only {count} documents after 180 s"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    partial_docs, _ = _consistent(db_path)
    assert 0 < partial_docs < N_FILES

    rw = Ragwright(load_settings(data_dir=tmp_path / "index", embedding={"model": "fake"}))
    report = rw.ingest([docs])
    rw.close()
    assert report.count("unchanged") == partial_docs
    assert report.count("added") == N_FILES - partial_docs
    final_docs, final_chunks = _consistent(db_path)
    assert final_docs == N_FILES and final_chunks == 2 * N_FILES
