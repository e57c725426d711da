"""Late-interaction alignment: the question's specific words against the evidence passages' token vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ragwright.answering.alignment import LOW_MATCH, Aligner, question_words
from ragwright.answering.answerability import AnswerabilityModel, shipped_model
from ragwright.answering.evidence import EvidenceSentence, score_sentences
from ragwright.answering.features import ALIGNMENT_NAMES, FEATURE_NAMES, AnswerabilityFeatures
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.models.base import TokenVectors
from ragwright.retrieval.analysis import query_terms
from ragwright.testing.fakes import FakeEmbedder
from tests.conftest import write

DOCS = {
    "aurora.md": "# Aurora\n\nThe Aurora compressor is covered for ten years. The fan is quiet at night.\n",
    "borealis.md": "# Borealis\n\nThe Borealis fan runs at night. Its panels were painted green in Oslo.\n",
}


class CountingEncoder(FakeEmbedder):
    """A fake token embedder that counts the texts it encodes."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.encoded: list[str] = []

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        self.encoded.extend(texts)
        return super().embed_tokens(texts)


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Ragwright:
    for name, text in DOCS.items():
        write(tmp_path / "docs" / name, text)
    rw = Ragwright(settings)
    rw.ingest([tmp_path / "docs"])
    yield rw
    rw.close()


def _evidence(app: Ragwright, question: str) -> tuple[list[EvidenceSentence], dict[str, float]]:
    hits = app.search(question, k=5).hits
    idf = app.store.term_idf(app.settings.tenant, query_terms(question))
    return score_sentences(question, hits, app.embedder), idf


def test_question_words_skip_stopwords_and_form_words_and_weigh_by_idf() -> None:
    question = "How many years is the Aurora compressor covered?"
    (tokens,) = FakeEmbedder().embed_tokens([question])
    words = question_words(question, tokens, {"year": 1.0, "aurora": 3.0, "compressor": 2.0})
    assert [w.word for w in words] == ["years", "Aurora", "compressor", "covered"]  # not How, many, is, the
    assert [w.weight for w in words] == [1.0, 3.0, 2.0, 3.0]  # "covered" is not in the idf: as rare as the rarest
    assert all(len(w.rows) == 1 for w in words)


def test_every_word_present_aligns_fully(app: Ragwright) -> None:
    question = "How many years is the Aurora compressor covered?"
    scored, idf = _evidence(app, question)
    feats = Aligner(CountingEncoder()).features(question, scored, idf)
    assert feats.align_mean == pytest.approx(1.0)
    assert feats.align_low_share == 0.0 and feats.align_rare_min == pytest.approx(1.0)
    assert feats.align_sentence == pytest.approx(1.0)  # all in the first sentence (with the title)
    assert feats.aligned_type_missing == 0.0  # "ten" answers "how many"
    assert feats.align_gap > 0.0  # the Borealis passage lacks "compressor" and "covered"


def test_a_specific_word_without_counterpart_is_seen(app: Ragwright) -> None:
    question = "How many years is the Zephyr compressor covered?"  # no document names a Zephyr
    scored, idf = _evidence(app, question)
    feats = Aligner(CountingEncoder()).features(question, scored, idf)
    assert feats.align_rare_min < LOW_MATCH  # the rarest word has no counterpart
    assert 0.0 < feats.align_low_share < 1.0
    assert feats.align_mean < 1.0


def test_words_together_in_one_sentence_score_higher_than_scattered(app: Ragwright) -> None:
    together = "Is the Aurora fan quiet?"
    scattered = "Is the Aurora compressor quiet?"  # both words are in the passage, in two different sentences
    enc = CountingEncoder()
    a = Aligner(enc).features(together, *_evidence(app, together))
    b = Aligner(enc).features(scattered, *_evidence(app, scattered))
    assert a.align_mean == pytest.approx(1.0) and b.align_mean == pytest.approx(1.0)
    assert a.align_sentence == pytest.approx(1.0) and b.align_sentence < 1.0


def test_answer_type_missing_from_the_aligned_sentence(app: Ragwright) -> None:
    question = "When was the Borealis fan painted?"
    feats = Aligner(CountingEncoder()).features(question, *_evidence(app, question))
    assert feats.aligned_type_missing == 1.0  # no year or month anywhere


def test_passages_are_encoded_once(app: Ragwright) -> None:
    enc = CountingEncoder()
    aligner = Aligner(enc)
    question = "How many years is the Aurora compressor covered?"
    scored, idf = _evidence(app, question)
    aligner.features(question, scored, idf)
    first = len(enc.encoded)
    aligner.features(question, scored, idf)
    assert first >= 2 and len(enc.encoded) == first  # question and passages all cached


def test_no_evidence_aligns_nothing() -> None:
    feats = Aligner(CountingEncoder()).features("What is the Zephyr?", [], {})
    assert feats.align_mean == 0.0 and feats.align_low_share == 1.0


def test_a_feature_not_computed_counts_as_average() -> None:
    names = ("support_best", "align_mean")
    model = AnswerabilityModel(names, np.array([0.5, 0.7]), np.array([0.1, 0.1]), np.array([1.0, 2.0]), 0.0, 0.5)
    base = {n: 0.5 for n in FEATURE_NAMES if n not in ALIGNMENT_NAMES}
    without = AnswerabilityFeatures(**base)  # type: ignore[arg-type]
    aligned_high = AnswerabilityFeatures(**base, align_mean=0.9)  # type: ignore[arg-type]
    assert model.log_odds(without) == pytest.approx(0.0)
    assert model.log_odds(aligned_high) == pytest.approx(4.0)
    assert model.reads_alignment


def test_the_asker_aligns_when_asked_or_when_the_model_reads_it(settings: Settings, tmp_path: Path) -> None:
    for name, text in DOCS.items():
        write(tmp_path / "docs" / name, text)
    question = "How many years is the Aurora compressor covered?"
    on = Ragwright(settings.model_copy(update={"answer": settings.answer.model_copy(update={"alignment": True})}))
    on.ingest([tmp_path / "docs"])
    try:
        answer = on.ask(question)
        assert answer.features is not None and answer.features.align_mean == pytest.approx(1.0)
        assert "alignment" in answer.timings_ms
    finally:
        on.close()
    default = Ragwright(settings)
    try:
        feats = default.ask(question).features
        assert feats is not None
        assert (feats.align_mean is None) == (not shipped_model().reads_alignment)
    finally:
        default.close()


def test_the_opt_in_model_reads_alignment_end_to_end(settings: Settings, tmp_path: Path) -> None:
    for name, text in DOCS.items():
        write(tmp_path / "docs" / name, text)
    v3 = settings.answer.model_copy(update={"answerability_model": "v3"})
    app = Ragwright(settings.model_copy(update={"answer": v3}))
    app.ingest([tmp_path / "docs"])
    try:
        there = app.ask("How many years is the Aurora compressor covered?")
        absent = app.ask("How many years is the Zephyr compressor warranty valid in Peru?")
    finally:
        app.close()
    assert there.features is not None and there.features.align_low_share == 0.0
    assert absent.features is not None and absent.features.align_low_share > 0.3
    assert (there.answerability or 0.0) > (absent.answerability or 0.0)
    assert not there.abstained and absent.abstained
