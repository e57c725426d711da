"""BEIR corpus.jsonl: one Document per record, bad lines reported without stopping the run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ragwright.documents.beir import iter_beir_corpus, parse_beir_record
from ragwright.documents.model import EXTRACTION_VERSION, source_hash
from ragwright.errors import CorruptFileError, DecodeError, EmptyDocumentError, IngestError

GOOD = [
    {"_id": "d1", "title": "Vitamin D", "text": "Vitamin D deficiency is common.", "metadata": {"year": 2020}},
    {"_id": "d2", "title": "", "text": "  Untitled abstract.  "},
]


def write_corpus(tmp_path: Path) -> Path:
    lines = [
        json.dumps(GOOD[0]).encode(),
        b'{"_id": "bad", "text": ',  # truncated JSON
        b"",  # blank lines are skipped silently
        json.dumps(GOOD[1]).encode(),
        b'{"title": "no id", "text": "x"}',
        b'{"_id": "d3", "text": "   "}',
        b'{"_id": "d1", "text": "duplicate"}',
        b'{"_id": "d4", "text": "caf\xe9"}',
        b"[1, 2]",
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_good_records_become_documents_and_bad_lines_are_reported(tmp_path: Path) -> None:
    path = write_corpus(tmp_path)
    errors: list[IngestError] = []
    docs = list(iter_beir_corpus(path, on_error=errors.append))

    assert [d.doc_id for d in docs] == ["d1", "d2"]
    d1, d2 = docs
    assert d1.title == "Vitamin D" and d1.text == "Vitamin D deficiency is common."
    assert d1.file_type == "beir" and d1.source == f"{path}#d1"
    assert d1.metadata == {"year": "2020"}
    canonical = json.dumps(GOOD[0], sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert d1.content_hash == source_hash(canonical) == f"{hashlib.sha256(canonical).hexdigest()}.x{EXTRACTION_VERSION}"
    assert d2.title == "" and d2.text[d2.sections[0].start : d2.sections[0].end] == "Untitled abstract."

    assert [(type(e), e.path) for e in errors] == [
        (CorruptFileError, f"{path}:2"),
        (CorruptFileError, f"{path}:5"),
        (EmptyDocumentError, f"{path}:6"),
        (CorruptFileError, f"{path}:7"),
        (DecodeError, f"{path}:8"),
        (CorruptFileError, f"{path}:9"),
    ]
    assert "duplicate" in errors[3].reason
    assert all("\n" not in e.reason for e in errors)


def test_strict_mode_raises_on_first_bad_line(tmp_path: Path) -> None:
    iterator = iter_beir_corpus(write_corpus(tmp_path))
    assert next(iterator).doc_id == "d1"
    with pytest.raises(CorruptFileError, match="invalid JSON"):
        next(iterator)


def test_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot open"):
        list(iter_beir_corpus(tmp_path / "nope.jsonl", on_error=lambda e: None))


def test_hash_ignores_formatting(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"_id": "x", "text": "same", "title": "T"}\n')
    b.write_text('{"title":"T","text":"same","_id":"x"}\n')
    assert next(iter_beir_corpus(a)).content_hash == next(iter_beir_corpus(b)).content_hash


def test_records_are_sanitised_like_every_loader() -> None:
    text = "identi\\ufb01ed in shrink\\u00ading work\\u200bers \\u0094\\u0082R"
    line = '{"_id": "7", "title": "E\\ufb03cacy", "text": "' + text + '"}'
    doc = parse_beir_record(line.encode(), "corpus.jsonl:1", "corpus.jsonl")
    assert doc.title == "Efficacy"
    assert doc.text == "identified in shrinking workers R"
