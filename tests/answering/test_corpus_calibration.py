from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragwright.answering.answerability import shipped_model
from ragwright.answering.corpus_calibration import (
    CalibrationCache,
    CorpusCalibration,
    calibrate,
    pseudo_question,
    rescale,
    sample_passages,
)
from ragwright.app import Ragwright
from ragwright.config import Settings
from tests.conftest import write

DOCS = {
    "aurora.md": "# Aurora\n\nThe Aurora compressor is covered by a warranty for ten full years in Norway.\n",
    "borealis.md": "# Borealis\n\nThe Borealis fan runs quietly at night and its panels were painted green in Oslo.\n",
    "cirrus.md": "# Cirrus\n\nThe Cirrus heat pump heats a small cabin in winter with a copper coil outside.\n",
    "dune.md": "# Dune\n\nThe Dune dehumidifier drains its tank into the basement sink every second morning.\n",
}


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Ragwright:
    for name, text in DOCS.items():
        write(tmp_path / "docs" / name, text)
    rw = Ragwright(settings)
    rw.ingest([tmp_path / "docs"])
    yield rw
    rw.close()


def test_a_pseudo_question_drops_the_rarest_word_and_keeps_the_next_in_order() -> None:
    idf = {"aurora": 5.0, "compressor": 4.0, "warranti": 3.0, "norway": 2.5, "year": 1.0, "cover": 0.5}
    q = pseudo_question("The Aurora compressor is covered by a warranty for ten years in Norway.", idf, keep=3)
    assert q == "compressor warranty Norway?"
    assert pseudo_question("It is in.", idf) is None  # too few content words


def test_statistics_of_answerable_and_absent_pseudo_questions() -> None:
    names = ("support_best", "bm25_top")
    cal = CorpusCalibration.from_vectors(names, [np.array([0.8, 0.6]), np.array([0.6, 0.6])], [np.array([0.2, 0.2])])
    assert cal.n_answerable == 2 and cal.n_absent == 1
    assert cal.answerable_mean == pytest.approx([0.7, 0.6]) and cal.absent_mean == pytest.approx([0.2, 0.2])
    assert cal.mean == pytest.approx([0.5333333, 0.4666667])
    again = CorpusCalibration.from_dict(cal.to_dict())
    assert again.features == names and again.scale == pytest.approx(cal.scale)
    x = np.array([0.7, 0.6])
    assert rescale(cal, names, x, "center") == pytest.approx(x - cal.mean)
    assert rescale(cal, names, x, "zscore") == pytest.approx((x - cal.mean) / cal.scale)
    assert rescale(cal, names, x, "anchor") == pytest.approx([1.0, 1.0])
    assert rescale(cal, ("bm25_top",), np.array([0.2]), "anchor") == pytest.approx([0.0])


def test_calibration_samples_the_tenants_corpus_and_sees_the_source_missing(app: Ragwright) -> None:
    tenant = app.settings.tenant
    sampled = list(sample_passages(app.store, tenant, 10))
    assert {d for d, _ in sampled} == {f"docs/{name}" for name in DOCS}
    assert list(sample_passages(app.store, tenant, 10)) == sampled  # deterministic
    cal = calibrate(app.asker("extractive"), tenant, n=10)
    assert cal.n_absent == 4 and cal.n_answerable >= 3
    i = cal.features.index("rare_coverage")
    assert cal.answerable_mean[i] > cal.absent_mean[i]  # the source passage covers its own pseudo-question
    assert cal.key["documents"] == 4 and cal.seconds > 0
    other = calibrate(app.asker("extractive"), "another-tenant", n=10)
    assert other.n_absent == 0 and other.n_answerable == 0  # another tenant's corpus is not read


def test_the_cache_calibrates_once_per_index_state(app: Ragwright, tmp_path: Path) -> None:
    cache = CalibrationCache(n=10)
    asker = app.asker("extractive")
    first = cache.get(asker, app.settings.tenant)
    assert cache.get(asker, app.settings.tenant) is first
    write(tmp_path / "more" / "eddy.md", "# Eddy\n\nThe Eddy pump moves rain water from the roof to a barrel.\n")
    app.ingest([tmp_path / "more"])
    assert cache.get(asker, app.settings.tenant) is not first  # a changed index is calibrated again


def test_the_calibrated_model_reads_the_corpus_scale_end_to_end(settings: Settings, tmp_path: Path) -> None:
    for name, text in DOCS.items():
        write(tmp_path / "docs" / name, text)
    chosen = settings.answer.model_copy(update={"answerability_model": "calibrated"})
    app = Ragwright(settings.model_copy(update={"answer": chosen}))
    app.ingest([tmp_path / "docs"])
    try:
        model = shipped_model("calibrated")
        assert model.corpus_scaling is not None
        there = app.ask("How many years is the Aurora compressor covered by warranty?")
        absent = app.ask("What colour are the Zephyr kettle handles in Peru?")
        cached = app._calibrations.get(app.asker(), app.settings.tenant)
    finally:
        app.close()
    assert cached.n_absent == 4
    assert there.features is not None
    assert there.answerability == pytest.approx(model.probability(there.features, cached))
    assert (there.answerability or 0.0) > (absent.answerability or 0.0)
    assert absent.abstained
