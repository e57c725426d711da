"""The demo corpus in examples/ loads, chunks, and still answers (or pointedly does not answer) the demo questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragwright.documents.chunker import chunk_document
from ragwright.documents.loaders import SUPPORTED_EXTENSIONS, load_file
from ragwright.documents.model import Chunk, Document
from ragwright.models.base import TokenCounter

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLES = EXAMPLES / "sample-docs"


@pytest.fixture(scope="module")
def corpus() -> dict[str, Document]:
    if not SAMPLES.is_dir():
        pytest.skip("examples/sample-docs is missing")
    return {p.name: load_file(p, p.name, max_bytes=2**20) for p in sorted(SAMPLES.iterdir())}


def chunks_with(docs: dict[str, Document], counter: TokenCounter, needle: str) -> list[Chunk]:
    found: list[Chunk] = []
    for doc in docs.values():
        found += [c for c in chunk_document(doc, counter) if needle in c.text]
    return found


def test_every_sample_file_is_supported_and_loads(corpus: dict[str, Document]) -> None:
    assert {Path(name).suffix for name in corpus} == {".md", ".html", ".pdf"}
    assert all(Path(name).suffix in SUPPORTED_EXTENSIONS for name in corpus)
    assert sum(name.endswith(".pdf") for name in corpus) == 2


def test_demo_questions_have_the_promised_sources(corpus: dict[str, Document], minilm: TokenCounter) -> None:
    questions = (EXAMPLES / "demo_questions.txt").read_text().splitlines()
    assert len(questions) == 3 and all(q.endswith("?") for q in questions)

    (power,) = chunks_with(corpus, minilm, "Q4 draws at most 65 W")
    assert power.page == 2 and power.doc_id == "datasheet.pdf"

    (reset,) = chunks_with(corpus, minilm, "for 12 seconds")
    assert reset.doc_id == "troubleshooting.md" and reset.heading_path[-1] == "Factory reset"

    for doc in corpus.values():  # the third question must stay unanswerable
        lowered = doc.text.lower()
        assert "decibel" not in lowered and "noise" not in lowered and " db" not in lowered
