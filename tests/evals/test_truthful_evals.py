"""Evals that tell the truth about answers: containment for quoted answers, an inconclusive gate on small sets, the
abstention operating point re-fitted on a golden set and written to config, and the reliability diagram."""

from __future__ import annotations

import asyncio
import json
import random
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwright.answering.types import Answer, AnsweredBy
from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import UserError
from ragwright.evals.abstention import reliability, set_toml_value
from ragwright.evals.compare import GatePolicy, MetricPolicy, detectable_drop, gate, load_policy
from ragwright.evals.dataset import Case
from ragwright.evals.metrics import AnswerContainment, AnswerTokens, TokenF1
from ragwright.evals.report import failing_cases, reliability_svg, render_html
from ragwright.interfaces.cli.evals import eval_app
from tests.conftest import write
from tests.evals.test_compare_gate import make_run


def _answer(text: str, abstained: bool = False) -> Answer:
    return Answer(
        question="q", text=text, citations=[], abstained=abstained, support=0.9, answered_by=AnsweredBy.EXTRACTIVE
    )


def test_containment_credits_a_quoted_sentence_that_f1_calls_a_failure() -> None:
    case = Case(id="c", question="When was the bridge opened?", reference_answer="May 27, 1937")
    quoted = _answer("The Golden Gate Bridge was opened to traffic on May 27, 1937, after four years of work. [1]")
    contained = asyncio.run(AnswerContainment().evaluate(case, quoted))
    f1 = asyncio.run(TokenF1().evaluate(case, quoted))
    assert contained is not None and contained.value == 1.0 and contained.reason == "answer 16 tokens"
    assert f1 is not None and f1.value is not None and f1.value < 0.5
    tokens = asyncio.run(AnswerTokens().evaluate(case, quoted))
    assert tokens is not None and tokens.value == 16.0
    wrong = asyncio.run(AnswerContainment().evaluate(case, _answer("It opened on May 28, 1937. [1]")))
    assert wrong is not None and wrong.value == 0.0
    partial_word = asyncio.run(
        AnswerContainment().evaluate(Case(id="d", question="?", reference_answer="37"), _answer("It was 1937."))
    )
    assert partial_word is not None and partial_word.value == 0.0  # token boundaries, not substrings
    abstained = asyncio.run(AnswerContainment().evaluate(case, _answer("May 27, 1937", abstained=True)))
    assert abstained is not None and abstained.value == 0.0
    assert asyncio.run(AnswerContainment().evaluate(Case(id="u", question="?", answerable=False), quoted)) is None


def test_failing_cases_of_an_extractive_run_are_judged_on_containment_not_f1() -> None:
    run = make_run({"f1": [0.2, 0.2], "containment": [1.0, 0.0]})
    for rec in run.cases:
        rec.answered_by = "extractive"
    assert [r.id for r in failing_cases(run)] == ["c1"]
    for rec in run.cases:
        rec.answered_by = "local"
    assert [r.id for r in failing_cases(run)] == ["c0", "c1"]


def test_gate_says_inconclusive_when_n_is_too_small_and_can_fail_on_it(tmp_path: Path) -> None:
    # the case: nDCG@10 down 0.107 at n = 7, tolerance 0.05; the interval includes zero
    base_vals = [0.9, 0.8, 1.0, 0.7, 0.95, 0.6, 0.85]
    new_vals = [0.9, 0.3, 1.0, 0.7, 0.95, 0.6, 0.71]
    base, new = make_run({"ndcg@10": base_vals}), make_run({"ndcg@10": new_vals})
    policy = GatePolicy(metrics={"ndcg@10": MetricPolicy(max_regression=0.05)})
    result = gate(new, policy, base)
    assert result.ok and len(result.inconclusive) == 1
    line = result.inconclusive[0]
    assert "inconclusive" in line and "n=7" in line and "smallest drop detectable" in line
    diffs = [n - b for n, b in zip(new_vals, base_vals, strict=True)]
    mean = sum(diffs) / 7
    sd = (sum((d - mean) ** 2 for d in diffs) / 6) ** 0.5
    assert f"{detectable_drop(sd, 7):.4f}" in line and detectable_drop(sd, 7) > 0.05
    (tmp_path / "gate.toml").write_text('fail_on_inconclusive = true\n[metrics."ndcg@10"]\nmax_regression = 0.05\n')
    strict = gate(new, load_policy(tmp_path / "gate.toml"), base)
    assert not strict.ok and "inconclusive" in strict.failures[0]


def test_gate_is_conclusive_when_the_set_can_see_the_tolerance() -> None:
    rng = random.Random(0)
    vals = [rng.random() for _ in range(400)]
    base = make_run({"f1": vals})
    new = make_run({"f1": [v + rng.choice((-0.01, 0.01)) for v in vals]})
    result = gate(new, GatePolicy(metrics={"f1": MetricPolicy(max_regression=0.05)}, fail_on_inconclusive=True), base)
    assert result.ok and not result.inconclusive
    assert detectable_drop(0.02, 400) == pytest.approx(2.8016 * 0.02 / 20, rel=1e-4)


def test_reliability_bins_and_the_diagram_in_the_report() -> None:
    bins = reliability([0.05, 0.07, 0.55, 0.95, 1.0], [False, True, True, True, True])
    assert [(b.lo, b.n) for b in bins] == [(0.0, 2), (0.5, 1), (0.9, 2)]
    assert bins[0].observed == 0.5 and bins[0].predicted == pytest.approx(0.06)
    run = make_run({"abstention_accuracy": [1.0, 0.0, 1.0]})
    for rec, p, a in zip(run.cases, [0.1, 0.8, 0.9], [False, False, True], strict=True):
        rec.answerability, rec.answerable = p, a
    svg = reliability_svg(run)
    assert svg.startswith("<svg") and svg.count('class="bin"') == 3 and 'class="diagonal"' in svg
    assert svg in render_html(run)
    for rec in run.cases:
        rec.answerability = None
    assert reliability_svg(run) == ""


def test_set_toml_value_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "ragwright.toml"
    cfg.write_text('data_dir = "idx"  # the index\n[answer]\ngenerator = "extractive"\n[retrieval]\nmode = "bm25"\n')
    set_toml_value(cfg, "answer", "min_answerability", 0.25)
    set_toml_value(cfg, "answer", "min_answerability", 0.3)
    data = tomllib.loads(cfg.read_text())
    assert data == {
        "data_dir": "idx",
        "answer": {"generator": "extractive", "min_answerability": 0.3},
        "retrieval": {"mode": "bm25"},
    }
    assert "# the index" in cfg.read_text()
    fresh = tmp_path / "new.toml"
    set_toml_value(fresh, "answer", "min_answerability", 0.1)
    assert tomllib.loads(fresh.read_text()) == {"answer": {"min_answerability": 0.1}}
    bad = tmp_path / "bad.toml"
    bad.write_text("[answer\n")
    with pytest.raises(UserError):
        set_toml_value(bad, "answer", "min_answerability", 0.1)


def test_calibrate_abstention_writes_the_operating_point_to_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("RAGWRIGHT_"):
            monkeypatch.delenv(key)
    write(
        tmp_path / "docs/pump.md", "# Aurora\n\nThe compressor is covered for ten years.\n\nThe unit runs at 38 dB.\n"
    )
    cfg = tmp_path / "ragwright.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "idx"}"\n[embedding]\nmodel = "fake"\n')
    app = Ragwright(load_settings(cfg))
    app.ingest([tmp_path / "docs"])
    probs = [app.ask(q).answerability for q in ("How long is the compressor covered?", "How loud is the unit?")]
    app.close()
    cases = [
        {"id": "a1", "question": "How long is the compressor covered?"},
        {"id": "a2", "question": "How loud is the unit?"},
        {"id": "u1", "question": "Which refrigerant does the Borealis use?", "answerable": False},
    ]
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    done = CliRunner().invoke(
        eval_app, ["calibrate-abstention", "cases.jsonl", "--config", str(cfg), "--max-false-abstention", "0", "--json"]
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["n_answerable"] == 2 and result["n_unanswerable"] == 1 and result["false_abstention"] == 0.0
    assert result["threshold"] == pytest.approx(min(p for p in probs if p is not None), abs=1e-6)
    written = load_settings(cfg)
    assert written.answer.min_answerability == pytest.approx(result["threshold"], abs=1e-6)
    assert written.embedding.model == "fake"  # the rest of the file is kept
