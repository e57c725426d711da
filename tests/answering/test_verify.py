"""The sentence check: every unsupported kind of the verifier benchmark is caught on a small fixture, supported
sentences pass, repeats are collapsed, and the model judge decides when one is configured."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from ragwright.answering.generative import check_citations
from ragwright.answering.service import Asker
from ragwright.answering.types import AnsweredBy
from ragwright.answering.verify import EvidenceText, Failure, numbers, verify_offline
from ragwright.answering.verify_judge import ModelJudge, probability_of_yes
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import ProviderHTTPError
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, TokenLogprob
from ragwright.prompts.packaged import packaged
from ragwright.testing import FakeChatModel, FakeEmbedder, FakeGenerator, Reply
from tests.conftest import write

JUDGE_SYSTEM = packaged("verify_judge").render().strip()
PASSAGE = [
    "The Aurora heat pump was designed in Oslo by Nordvarme in 2019.",
    "The outdoor unit runs at 38 dB in night mode.",
    "It heats homes up to 180 square metres and weighs 62 kg.",
    "The compressor does not need yearly servicing.",
]
EVIDENCE = [EvidenceText(s, passage="aurora", context="Aurora Heat Pump") for s in PASSAGE]

SUPPORTED = {
    "verbatim": "The outdoor unit runs at 38 dB in night mode.",
    "paraphrase": "Nordvarme designed the Aurora heat pump in Oslo in 2019.",
    "number as a word": "The heat pump weighs sixty-two kg, and heats homes up to 180 square metres.",
    "negation kept": "The compressor does not need yearly servicing.",
}
UNSUPPORTED = {
    "number": ("The outdoor unit runs at 45 dB in night mode.", Failure.NUMBER),
    "number from elsewhere": ("The outdoor unit runs at 62 dB in night mode.", Failure.NUMBER),
    "unit": ("It heats homes up to 180 square metres and weighs 62 lb.", Failure.UNIT),
    "entity": ("The Aurora heat pump was designed in Bergen by Nordvarme in 2019.", Failure.ENTITY),
    "entity from the same sentence": ("The Aurora heat pump was designed in Oslo by Oslo in 2019.", Failure.ENTITY),
    "entity from another sentence": ("The outdoor unit runs at 38 dB in Oslo mode.", Failure.ENTITY),
    "negation inserted": ("The outdoor unit does not run at 38 dB in night mode.", Failure.NEGATION),
    "negation removed": ("The compressor needs yearly servicing.", Failure.NEGATION),
    "absent": ("The indoor unit has a touch screen with a weekly timer.", Failure.UNSUPPORTED),
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_each_unsupported_kind_is_caught(kind: str) -> None:
    sentence, failure = UNSUPPORTED[kind]
    verdict = verify_offline([sentence], EVIDENCE, FakeEmbedder())[0]
    assert not verdict.supported and verdict.failure is failure


@pytest.mark.parametrize("kind", sorted(SUPPORTED))
def test_supported_sentences_pass_and_point_at_their_evidence(kind: str) -> None:
    verdict = verify_offline([SUPPORTED[kind]], EVIDENCE, FakeEmbedder())[0]
    assert verdict.supported and verdict.failure is None
    assert verdict.evidence is not None and EVIDENCE[verdict.evidence].text in PASSAGE


def test_numbers_are_normalised_with_their_units() -> None:
    assert numbers("It costs 1,000 dollars over ten years, or 50 percent.") == [
        ("1000", "usd"),
        ("10", "year"),
        ("50", "%"),
    ]


def test_repeats_are_collapsed_whatever_their_case_punctuation_or_markers() -> None:
    first = "The outdoor unit runs at 38 dB in night mode."
    sentences = [first, "the outdoor unit runs at 38 dB in night mode [2]", first, "The outdoor unit runs at 38 dB."]
    verdicts = verify_offline(sentences, EVIDENCE, FakeEmbedder())
    assert [v.failure for v in verdicts] == [None, Failure.REPEAT, Failure.REPEAT, None]
    assert verify_offline([first], EVIDENCE, None, earlier=[first.upper()])[0].failure is Failure.REPEAT


def test_the_false_pip_claim_is_dropped() -> None:
    pip_docs = [
        "pip is the package installer for Python.",
        "You can use pip to install packages from the Python Package Index and other indexes.",
        "pip is a separate tool: it is not part of the Python standard library.",
        "Python comes with an ensurepip module, which can install pip in a Python environment.",
    ]
    evidence = [EvidenceText(s, passage="pip/index.md", context="pip documentation") for s in pip_docs]
    claim = "The Python standard library has a built-in pip package."
    assert not verify_offline([claim], evidence, FakeEmbedder())[0].supported
    assert verify_offline(["pip is the package installer for Python."], evidence, FakeEmbedder())[0].supported


# -- the model judge ---------------------------------------------------------------------------------------------


def _sync(model: FakeChatModel):  # type: ignore[no-untyped-def]
    return lambda request: asyncio.run(model.chat(request))


def _yes_no(p_yes: float) -> Reply:
    top = (("yes", math.log(p_yes)), ("no", math.log(1.0 - p_yes)))
    first = top[0] if p_yes >= 0.5 else top[1]
    return Reply(text=first[0], logprobs=(TokenLogprob(first[0], first[1], top),))


def test_judge_uses_the_logprob_probability_and_overrides_the_offline_verdict() -> None:
    model = FakeChatModel([_yes_no(0.2), _yes_no(0.9)], name="fake:judge")
    judge = ModelJudge(_sync(model), "fake:judge")
    offline = verify_offline([SUPPORTED["verbatim"], UNSUPPORTED["absent"][0]], EVIDENCE, FakeEmbedder())
    verdicts = judge.review([SUPPORTED["verbatim"], UNSUPPORTED["absent"][0]], EVIDENCE, offline)
    assert [v.supported for v in verdicts] == [False, True]
    assert verdicts[0].failure is Failure.JUDGE and verdicts[0].judged_by == "model"
    assert verdicts[0].score == pytest.approx(0.2) and verdicts[1].score == pytest.approx(0.9)
    request = model.requests[0]
    assert request.top_logprobs == 5 and request.max_tokens == 2 and request.messages[0].content == JUDGE_SYSTEM
    assert "38 dB" in (request.messages[1].content or "")


def test_judge_without_logprobs_uses_the_label_and_falls_back_to_offline() -> None:
    model = FakeChatModel(["No.", "Yes", "Maybe", ProviderHTTPError(503, "down")], name="fake:judge")
    judge = ModelJudge(_sync(model), "fake:judge")
    sentence = SUPPORTED["verbatim"]
    offline = verify_offline([sentence], EVIDENCE, FakeEmbedder())[0]
    labelled = [judge.judge(sentence, EVIDENCE, offline) for _ in range(4)]
    assert [(v.supported, v.judged_by) for v in labelled] == [
        (False, "model"),
        (True, "model"),
        (True, "offline"),  # neither yes nor no: the offline verdict stands
        (True, "offline"),  # the call failed: the offline verdict stands
    ]


def test_probability_of_yes_reads_alternatives_with_spaces_and_case() -> None:
    reply = ChatResponse(
        model="x",
        message=Message("assistant", " Yes"),
        logprobs=(TokenLogprob(" Yes", math.log(0.6), ((" Yes", math.log(0.6)), ("No", math.log(0.3)))),),
    )
    assert probability_of_yes(reply) == pytest.approx(0.6 / 0.9)


# -- through the ask pipeline --------------------------------------------------------------------------------------

DOC = "# Aurora Heat Pump\n\n" + "\n\n".join(PASSAGE) + "\n"


def test_generated_answer_repeated_six_times_is_kept_once(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    repeated = " ".join(["The outdoor unit runs at 38 dB in night mode [1]."] * 6)
    app = Ragwright(settings, generator=FakeGenerator([repeated]))
    app.ingest([tmp_path / "docs"])
    answer = app.ask("How loud is the outdoor unit at night?", generator="local")
    assert answer.text == "The outdoor unit runs at 38 dB in night mode. [1]" and answer.flagged == []
    app.close()


def test_configured_judge_checks_each_generated_sentence(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings)
    app.ingest([tmp_path / "docs"])

    def reply(request: ChatRequest) -> Reply | str:
        if request.messages[0].content == JUDGE_SYSTEM:
            claim = (request.messages[1].content or "").split("Claim: ")[1]
            return _yes_no(0.1 if " runs " in claim else 0.95)
        return "The outdoor unit runs at 38 dB in night mode [1]. The outdoor unit is at 38 dB in night mode [1]."

    model = FakeChatModel(reply, name="fake:writer")
    answer_settings = settings.answer.model_copy(update={"verifier_model": "fake:judge", "generator": "gateway"})
    asker = Asker(app.retriever, app.embedder, answer_settings, chat=_sync(model))
    answer = asker.ask("default", "How loud is the outdoor unit at night?")
    assert answer.answered_by is AnsweredBy.GATEWAY  # both sentences pass offline; the judge decides
    assert answer.text == "The outdoor unit is at 38 dB in night mode. [1]"
    assert answer.flagged == ["The outdoor unit runs at 38 dB in night mode."]
    assert [r.model for r in model.requests] == ["default", "fake:judge", "fake:judge"]
    app.close()


def test_check_citations_without_a_judge_keeps_offline_behaviour() -> None:
    checked = check_citations("Nothing here.", [], FakeEmbedder())
    assert checked.dropped == ["Nothing here."] and checked.verdicts == ()
