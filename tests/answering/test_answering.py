"""Extractive answers quote and cite; abstention is honest; generated answers have their citations checked."""

from __future__ import annotations

from pathlib import Path

from ragwright.answering.answerability import shipped_model
from ragwright.answering.generative import check_citations
from ragwright.answering.sentences import split_sentences
from ragwright.answering.types import AbstentionReason, AnsweredBy, FallbackCause
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.documents.loaders import load_file
from ragwright.testing import FakeEmbedder, FakeGenerator
from tests.conftest import write

DOC = """# Aurora Heat Pump

## Noise

The outdoor unit runs at 38 dB in night mode.

## Efficiency

The seasonal COP is 4.6 at 7 °C outdoor temperature. The unit heats homes up to 180 square metres.

## Warranty

The compressor is covered for ten years. Other parts are covered for five years.
"""


def _app(settings: Settings, tmp_path: Path, generator: FakeGenerator | None = None) -> Ragwright:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings, generator=generator)
    app.ingest([tmp_path / "docs"])
    return app


def test_extractive_answer_quotes_the_supporting_sentence_with_exact_span(settings: Settings, tmp_path: Path) -> None:
    app = _app(settings, tmp_path)
    answer = app.ask("How many years is the compressor covered?")
    assert not answer.abstained and answer.answered_by is AnsweredBy.EXTRACTIVE and answer.fallback is None
    assert answer.text.startswith("The compressor is covered for ten years. [1]")
    cite = answer.citations[0]
    doc_text = next(iter(app.store.get("default", [cite.chunk_id]))).chunk
    source = (tmp_path / "docs/aurora.md").read_text(encoding="utf-8")
    assert cite.heading_path[-1] == "Warranty" and cite.location.endswith("Warranty")
    assert doc_text.doc_id == "docs/aurora.md"
    # Spans index the document's extracted text; its source map leads back to the exact characters of the file.
    loaded = load_file(tmp_path / "docs/aurora.md", "docs/aurora.md", max_bytes=2**20)
    assert loaded.text[cite.char_start : cite.char_end] == cite.snippet == "The compressor is covered for ten years."
    assert loaded.source_map is not None
    (span,) = loaded.source_map.spans(cite.char_start, cite.char_end)
    assert source[span.start : span.end] == cite.snippet
    app.close()


def test_abstains_when_documents_do_not_say_and_shows_closest(settings: Settings, tmp_path: Path) -> None:
    app = _app(settings, tmp_path)
    answer = app.ask("Which refrigerant gas does the Borealis model use?")
    assert answer.abstained and answer.citations == [] and answer.answered_by is AnsweredBy.ABSTAINED
    assert answer.abstention is AbstentionReason.WEAK_EVIDENCE
    assert answer.closest and answer.answerability is not None and answer.answerability < shipped_model().threshold
    assert answer.answered_by_label == "nobody: the evidence is too weak"
    app.close()


def test_local_generator_output_is_kept_only_where_evidence_supports_it(settings: Settings, tmp_path: Path) -> None:
    script = ["The outdoor unit runs at 38 dB in night mode [2]. It was designed on the Moon by penguins [1]."]
    gen = FakeGenerator(script)
    app = _app(settings, tmp_path, generator=gen)
    answer = app.ask("How loud is the outdoor unit at night?", generator="local")
    assert answer.answered_by is AnsweredBy.LOCAL and answer.model == "local:smollm2"
    assert answer.text == "The outdoor unit runs at 38 dB in night mode. [1]"  # citation renumbered and checked
    assert answer.flagged == ["It was designed on the Moon by penguins."]
    assert answer.citations[0].heading_path[-1] == "Noise"
    assert "<passage" in gen.prompts[0] and "data, not instructions" in gen.prompts[0]
    app.close()


def test_generated_sentence_with_a_wrong_number_or_negation_is_dropped(settings: Settings, tmp_path: Path) -> None:
    script = [
        "The outdoor unit runs at 45 dB in night mode [1]. The outdoor unit does not run in night mode [1]. "
        "The outdoor unit runs at 38 dB in night mode [1]."
    ]
    app = _app(settings, tmp_path, generator=FakeGenerator(script))
    answer = app.ask("How loud is the outdoor unit at night?", generator="local")
    assert answer.text == "The outdoor unit runs at 38 dB in night mode. [1]"
    assert answer.flagged == [
        "The outdoor unit runs at 45 dB in night mode.",
        "The outdoor unit does not run in night mode.",
    ]
    app.close()


def test_unsupported_generation_falls_back_to_extractive(settings: Settings, tmp_path: Path) -> None:
    app = _app(settings, tmp_path, generator=FakeGenerator(["Bananas are yellow and curved."]))
    answer = app.ask("What is the seasonal COP?", generator="local")
    assert answer.answered_by is AnsweredBy.EXTRACTIVE and answer.fallback is not None
    assert answer.fallback.cause is FallbackCause.NOTHING_SUPPORTED and answer.fallback.model == "local:smollm2"
    assert not answer.model_abstained
    assert "4.6" in answer.text and answer.flagged == ["Bananas are yellow and curved."]
    app.close()


def test_check_citations_with_no_evidence_drops_everything() -> None:
    checked = check_citations("Something. Another thing.", [], FakeEmbedder())
    assert checked.text == "" and checked.citations == [] and checked.dropped == ["Something.", "Another thing."]


def test_sentence_split_keeps_offsets_and_abbreviations() -> None:
    text = "Costs $5, e.g. in Berlin. Ships fast!\n- item one\n- item two\n\nNew paragraph"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Costs $5, e.g. in Berlin.",
        "Ships fast!",
        "- item one",
        "- item two",
        "New paragraph",
    ]


def test_model_abstention_is_an_abstention_not_an_extractive_answer(settings: Settings, tmp_path: Path) -> None:
    app = _app(settings, tmp_path, generator=FakeGenerator(["NOT IN DOCUMENTS."]))
    answer = app.ask("How many years is the compressor covered?", generator="local")
    assert answer.abstained and answer.citations == [] and answer.closest
    assert answer.answered_by is AnsweredBy.ABSTAINED and answer.abstention is AbstentionReason.MODEL
    assert answer.model == "local:smollm2" and answer.model_abstained and answer.flagged == []
    assert answer.to_dict()["abstention"] == "model" and answer.to_dict()["answered_by"] == "abstained"
    assert answer.answered_by_label == "nobody: the model found no answer in the documents (local:smollm2)"
    app.close()


def test_model_abstention_beside_a_supported_sentence_keeps_the_sentence_and_the_signal(
    settings: Settings, tmp_path: Path
) -> None:
    script = ["The compressor is covered for ten years [1]. The rest is NOT IN DOCUMENTS."]
    app = _app(settings, tmp_path, generator=FakeGenerator(script))
    answer = app.ask("How many years is the compressor covered?", generator="local")
    assert not answer.abstained and answer.answered_by is AnsweredBy.LOCAL
    assert answer.text == "The compressor is covered for ten years. [1]" and answer.model_abstained
    app.close()
