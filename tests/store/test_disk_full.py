"""A write that finds the disk full raises DiskFull (a StoreError the front doors answer with 507), and what was
written before stays searchable. The full disk is SQLite's own SQLITE_FULL, reached by capping the database's size
with ``PRAGMA max_page_count``: the same error code a full file system gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import DiskFull
from ragwright.errors_http import http_error


def test_a_full_database_raises_disk_full_and_reads_go_on(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Pumps\n\nThe outdoor unit runs at 38 dB at night.\n", encoding="utf-8")
    rw = Ragwright(load_settings(data_dir=tmp_path / "index", embedding={"model": "fake"}))
    try:
        rw.ingest([docs])
        db = rw.store._db  # type: ignore[attr-defined]  # the cap is per connection: it must be the store's own
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        (docs / "b.md").write_text("# Manual\n\n" + "Every sentence here is new text. " * 4000, encoding="utf-8")
        with pytest.raises(DiskFull) as full:
            rw.ingest([docs])
        err = http_error(full.value)
        assert (err.status, err.type) == (507, "no_space") and "no space left" in err.message
        hits = rw.search("how loud is the outdoor unit", k=3).hits
        assert hits and hits[0].chunk.doc_path.endswith("a.md")
    finally:
        rw.close()
