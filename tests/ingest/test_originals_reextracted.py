"""A document indexed before ragwright kept originals (extraction version 2, no ``document_originals`` row) shows
the cited passage with a note naming the command, and the next ``ragwright ingest`` of the same, unchanged file
stores its original, so the citation opens highlighted in the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragwright.app import Ragwright
from ragwright.ingest.limits import ParseLimits
from ragwright.service.access import TagScope
from ragwright.service.sources import CitedSource, ViewKind, cited_source
from tests.conftest import write

GUIDE = "# Guide\n\nRotate the keys every ninety days. Revoked keys stop working at once.\n"


def _cited(rw: Ragwright) -> CitedSource:
    stored = rw.search("rotate the keys", tenant="default", k=1).hits[0].chunk
    start = stored.chunk.char_start + stored.chunk.text.index("Rotate")
    view = cited_source(
        rw.store,
        "default",
        TagScope(),
        stored.doc_path,
        stored.chunk.id,
        start,
        start + 10,
        ParseLimits.from_settings(rw.settings),
    )
    assert view is not None
    return view


def test_a_document_indexed_without_its_original_gets_it_at_the_next_ingest(
    rw: Ragwright, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ragwright.documents.model as model

    write(tmp_path / "docs/guide.md", GUIDE)
    monkeypatch.setattr(model, "EXTRACTION_VERSION", 2)  # the last version that stored no originals
    rw.ingest([tmp_path / "docs"])
    monkeypatch.undo()
    with sqlite3.connect(rw.settings.index_path) as db:  # as an index written before m004_document_originals
        db.execute("DELETE FROM document_originals")
    before = _cited(rw)
    assert before.kind is ViewKind.CHUNK and "run `ragwright ingest` on its file again" in before.note
    report = rw.ingest([tmp_path / "docs"])  # the same bytes
    assert report.count("updated") == 1
    after = _cited(rw)
    assert after.kind is ViewKind.TEXT and after.text == GUIDE and after.highlighted == "Rotate the"
