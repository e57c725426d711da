"""Calibrated answerability: the features of a retrieval, the shipped model, and abstention when the gold is gone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ragwright.answering.answerability import (
    SHIPPED_VERSIONS,
    AnswerabilityModel,
    load_model,
    operating_point,
    resolve_model,
    shipped_model,
)
from ragwright.answering.features import FEATURE_NAMES, AnswerabilityFeatures, AnswerType, answer_type, name_phrases
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import UserError
from tests.conftest import write

DOC = """# Aurora Heat Pump

## Warranty

The compressor is covered for ten years. Other parts are covered for five years.

## Noise

The outdoor unit runs at 38 dB in night mode. It was designed by Ingrid Halvorsen in Trondheim.
"""


def _features(**values: float) -> AnswerabilityFeatures:
    base = {name: 0.5 for name in FEATURE_NAMES} | {
        "rarest_found": 1.0,
        "missing_rare": 0.0,
        "numbers_missing": 0.0,
        "entities_missing": 0.0,
        "type_mismatch": 0.0,
        "names_missing": 0.0,
        "sentence_entities_missing": 0.0,
    }
    return AnswerabilityFeatures(**(base | values))


def test_answer_type_cues() -> None:
    assert answer_type("How many years is the compressor covered?") == AnswerType.NUMBER
    assert answer_type("When was the bridge opened?") == AnswerType.DATE
    assert answer_type("In what year did it open?") == AnswerType.DATE
    assert answer_type("Which year did it open?") == AnswerType.DATE
    assert answer_type("Who designed the unit?") == AnswerType.PERSON
    assert answer_type("Where was it designed?") == AnswerType.PLACE
    assert answer_type("What does the warranty cover?") == AnswerType.NONE


def test_name_phrases_are_runs_of_capitalised_words_after_the_first() -> None:
    assert name_phrases("Who leads The Islamic State in Iraq?") == ["islamic state"]
    assert name_phrases("When was the British Nationality Act passed by Parliament?") == ["british nationality act"]
    assert name_phrases("What Year did Tesla die?") == []  # single capitalised words are entities, not phrases
    assert name_phrases("How many universities does Newcastle have?") == []


def test_phrase_and_name_features(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings)
    app.ingest([tmp_path / "docs"])
    try:
        yes = app.ask("How long is the Aurora Heat Pump compressor covered?").features
        other_name = app.ask("How long is the Borealis Heat Pump compressor covered?").features
        plain = app.ask("How long is the compressor covered?").features
        scattered = app.ask("Which parts run in night mode for ten years?").features
    finally:
        app.close()
    assert yes is not None and other_name is not None and plain is not None and scattered is not None
    assert yes.names_missing == 0.0 and yes.sentence_entities_missing == 0.0  # the name is the document's title
    assert other_name.names_missing == 1.0 and other_name.sentence_entities_missing > 0.0
    assert plain.phrase_coverage == 1.0 and plain.sentence_phrase_coverage == 1.0  # "compressor is covered"
    assert yes.phrase_coverage > other_name.phrase_coverage  # "Aurora Heat" is in the title, "Borealis Heat" nowhere
    assert scattered.sentence_phrase_coverage < 0.5  # "night mode" and "ten years" are in different sentences
    assert yes.bm25_standout >= 0.0 and -1.0 <= yes.dense_standout <= 1.0


def test_features_of_an_answerable_and_an_unanswerable_question(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings)
    app.ingest([tmp_path / "docs"])
    try:
        yes = app.ask("How many years is the compressor covered?").features
        no = app.ask("Which refrigerant does the Borealis Q9 use?").features
        who = app.ask("Who designed the outdoor unit?").features
        idf = app.store.term_idf("default", ["compressor", "refriger", "borealis"])
    finally:
        app.close()
    assert yes is not None and no is not None and who is not None
    assert yes.rare_coverage == 1.0 and yes.rarest_found == 1.0 and yes.missing_rare == 0.0
    assert yes.type_mismatch == 0.0  # "ten years" holds a number word
    assert no.entities_missing == 1.0 and no.numbers_missing == 1.0  # "Borealis", "Q9" and its 9 are nowhere
    assert no.missing_rare == 1.0 and no.rarest_found == 0.0 and no.rare_coverage < 0.5
    assert who.type_mismatch == 0.0  # a name the question does not hold: "Ingrid Halvorsen"
    assert 0 <= yes.bm25_top <= 1 and yes.bm25_top > no.bm25_top
    assert idf["borealis"] == idf["refriger"] > idf["compressor"] > 0  # unseen terms get the largest IDF
    assert no.generator_declined is None and no.with_generator(True).generator_declined is True
    assert len(yes.vector()) == len(FEATURE_NAMES)


@pytest.mark.parametrize("version", [None, *SHIPPED_VERSIONS])
def test_shipped_model_loads_gives_probabilities_and_is_monotone_in_the_obvious_features(version: str | None) -> None:
    model = shipped_model(version)
    assert set(model.features) <= set(FEATURE_NAMES) and 0 < model.threshold < 1
    assert model.provenance.get("version") and model.provenance.get("fitted_on")
    rng = np.random.default_rng(0)
    for _ in range(200):
        feats = _features(**{n: float(rng.random()) for n in FEATURE_NAMES})
        assert 0.0 <= model.probability(feats) <= 1.0
    base = _features()
    for name, direction in [
        ("support_best", 1),
        ("similarity_best", 1),
        ("rare_coverage", 1),
        ("sentence_rare_coverage", 1),
        ("missing_rare", -1),
        ("numbers_missing", -1),
        ("entities_missing", -1),
        ("type_mismatch", -1),
        ("phrase_coverage", 1),
        ("names_missing", -1),
        ("bm25_standout", 1),
        ("align_mean", 1),
        ("align_sentence", 1),
        ("align_rare_min", 1),
        ("align_low_share", -1),
    ]:
        lo, hi = (model.probability(replace(base, **{name: v})) for v in (0.0, 1.0))
        assert (hi - lo) * direction >= 0, name
    assert model.probability(base.with_generator(True)) < model.probability(base)
    weak = {"support_best": 0.1, "support_margin": 0.0, "rare_coverage": 0.1, "align_sentence": 0.3, "align_gap": 0.0}
    strong = {"support_best": 0.8, "support_margin": 0.5, "rare_coverage": 1.0, "align_sentence": 0.9, "align_gap": 0.4}
    assert model.probability(_features(**weak)) < model.probability(_features(**strong))


def test_the_configured_model_is_a_shipped_version_or_a_file(tmp_path: Path) -> None:
    assert resolve_model(None).provenance == shipped_model().provenance
    assert not resolve_model("v2").reads_alignment and resolve_model("v2").provenance["version"] == "answerability-v2"
    assert resolve_model("v3").reads_alignment and resolve_model("v3").provenance["version"] == "answerability-v3"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(shipped_model("v2").to_dict() | {"threshold": 0.5}))
    assert resolve_model(str(path)).threshold == 0.5
    with pytest.raises(UserError, match="cannot read"):
        resolve_model(str(tmp_path / "missing.json"))
    with pytest.raises(UserError, match="no shipped"):
        shipped_model("v9")


def test_a_malformed_model_file_is_a_user_error(tmp_path: Path) -> None:
    data = shipped_model().to_dict()
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    assert load_model(path).threshold == pytest.approx(shipped_model().threshold)
    path.write_text(json.dumps(data | {"coef": data["coef"][:-1]}))
    with pytest.raises(UserError, match="one value per feature"):
        load_model(path)
    path.write_text(json.dumps(data | {"features": ["nope", *data["features"][1:]]}))
    with pytest.raises(UserError, match="unknown features"):
        load_model(path)
    with pytest.raises(UserError):
        AnswerabilityModel.from_dict({"features": []})


def test_operating_point_keeps_false_abstention_under_the_target() -> None:
    probs = [i / 100 for i in range(1, 101)]
    t = operating_point(probs, 0.05)
    assert sum(p < t for p in probs) == 5
    assert operating_point(probs, 0.0) == 0.01
    with pytest.raises(UserError):
        operating_point([], 0.05)


@pytest.mark.slow
def test_the_real_model_answers_then_abstains_once_the_gold_document_is_removed(tmp_path: Path) -> None:
    """The sample corpus with the real embedder: the reset question is answered from the manual; delete that
    document (its neighbours stay) and the same question is abstained on."""
    from ragwright.config import load_settings

    root = Path(__file__).resolve().parents[2]
    app = Ragwright(load_settings(data_dir=tmp_path / "idx"))
    try:
        app.ingest([root / "examples/sample-docs"])
        question = "How long do you hold the reset button to factory reset the Quillfin Vault?"
        answered = app.ask(question)
        assert not answered.abstained and "12 seconds" in answered.text
        gold = answered.citations[0].doc_path
        assert app.store.delete("default", gold)
        gone = app.ask(question)
        assert gone.abstained and gone.answerability is not None
        assert gone.answerability < shipped_model().threshold <= (answered.answerability or 0.0)
    finally:
        app.close()


def test_the_models_not_in_documents_fills_the_generator_slot(settings: Settings, tmp_path: Path) -> None:
    from ragwright.testing import FakeGenerator

    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings, generator=FakeGenerator(["NOT IN DOCUMENTS"]))
    app.ingest([tmp_path / "docs"])
    try:
        plain = app.ask("How many years is the compressor covered?")
        declined = app.ask("How many years is the compressor covered?", generator="local")
    finally:
        app.close()
    assert plain.features is not None and plain.features.generator_declined is None
    assert declined.abstained and declined.features is not None and declined.features.generator_declined is True
    assert declined.answerability is not None and plain.answerability is not None
    assert declined.answerability < plain.answerability
