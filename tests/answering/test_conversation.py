"""Follow-up questions rewritten with the conversation, and answers streamed one verified sentence at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ragwright.answering.conversation import RewriteMethod, Turn, condense, is_follow_up, rewrite
from ragwright.answering.service import Asker
from ragwright.answering.stream import Done, SentenceEvent, stream_answer
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, Usage
from ragwright.testing import FakeChatModel, Reply
from tests.conftest import write

SAMPLES = Path(__file__).resolve().parents[2] / "examples/sample-docs"
HISTORY = [
    Turn("user", "What does the Quillfin Vault warranty cover?"),
    Turn("assistant", "The Quillfin Vault Q2 has a 2-year limited hardware warranty. [1]"),
]


def test_a_follow_up_carries_the_previous_questions_key_terms() -> None:
    assert is_follow_up("Which parts are not?") and is_follow_up("And the Q8?")
    assert not is_follow_up("How long is the Quillfin Vault Q8 warranty period?")
    carried = condense("Which parts are not?", HISTORY)
    assert carried.method is RewriteMethod.CARRIED
    assert carried.question == "Which parts are not? (quillfin vault warranty cover)"
    standalone = condense("How long is the Quillfin Vault Q8 warranty period?", HISTORY)
    assert standalone.method is RewriteMethod.NONE and standalone.question.startswith("How long")
    assert condense("Which parts are not?", []).method is RewriteMethod.NONE


def _reply(text: str) -> ChatResponse:
    return ChatResponse(model="fake:m", message=Message("assistant", text), finish_reason="stop", usage=Usage(1, 1))


def test_the_generators_rewrite_is_used_only_when_grounded_in_the_conversation() -> None:
    seen: list[ChatRequest] = []

    def chat(text: str):  # noqa: ANN202
        def call(request: ChatRequest) -> ChatResponse:
            seen.append(request)
            return _reply(text)

        return call

    good = rewrite(
        "Which parts are not?", HISTORY, chat=chat("Which parts does the Quillfin Vault warranty not cover?")
    )
    assert (
        good.method is RewriteMethod.MODEL
        and good.question == "Which parts does the Quillfin Vault warranty not cover?"
    )
    assert good.prompt_version and good.prompt_version.startswith("condense/v1#")
    prompt = seen[0].messages[0].content or ""
    assert "<<<CONVERSATION" in prompt and "What does the Quillfin Vault warranty cover?" in prompt
    invented = rewrite("Which parts are not?", HISTORY, chat=chat("What is the admin password of the vault?"))
    assert (
        invented.method is RewriteMethod.CARRIED
    )  # a term the conversation never used: the model's rewrite is refused


@pytest.fixture
def samples(settings: Settings) -> Ragwright:
    app = Ragwright(settings)
    app.ingest([SAMPLES])
    yield app
    app.close()


def test_follow_up_is_retrieved_with_the_conversation_on_the_sample_docs(samples: Ragwright) -> None:
    with_history = samples.ask("Which parts are not?", history=HISTORY)
    assert with_history.rewritten_question == "Which parts are not? (quillfin vault warranty cover)"
    assert with_history.question == "Which parts are not?"
    assert not with_history.abstained and "does not cover" in with_history.text
    assert {Path(c.doc_path).name for c in with_history.citations} == {"warranty-and-service.pdf"}
    alone = samples.ask("Which parts are not?")  # the bug: an unrelated passage, answered confidently
    assert alone.rewritten_question is None and "warranty" not in alone.text.lower()


def test_an_unsupported_rewritten_follow_up_abstains(samples: Ragwright) -> None:
    answer = samples.ask("And which refrigerant gas?", history=HISTORY)
    assert answer.rewritten_question and answer.abstained and answer.citations == []


DOC = """# Aurora Heat Pump

## Noise

The outdoor unit runs at 38 dB in night mode. In day mode it runs at 45 dB.
"""


async def test_stream_sends_the_first_verified_sentence_before_the_model_finishes(
    settings: Settings, tmp_path: Path
) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings)
    app.ingest([tmp_path / "docs"])
    hold = asyncio.Event()
    text = (
        "The outdoor unit runs at 38 dB in night mode [1]. Penguins designed it on the Moon [1]. It runs at 45 dB [1]."
    )
    model = FakeChatModel([Reply(text, hold=hold, hold_after=12)], name="fake:m")
    asker = Asker(app.retriever, app.embedder, settings.answer, chat=lambda r: _reply(""))
    events = stream_answer(
        asker, "default", "How loud is the outdoor unit in night mode?", generator="gateway", stream=model.stream
    )
    first = await anext(events)
    # the model is blocked before its 13th word, so it cannot have finished: the sentence came out mid-generation
    assert isinstance(first, SentenceEvent) and not hold.is_set()
    assert first.text == "The outdoor unit runs at 38 dB in night mode. [1]" and first.citations[0].n == 1
    hold.set()
    rest = [e async for e in events]
    assert all(isinstance(e, SentenceEvent) for e in rest[:-1]) and isinstance(rest[-1], Done)
    sentences = [first.text] + [e.text for e in rest[:-1]]
    assert "Penguins designed it on the Moon." not in " ".join(sentences)  # verified before sending, never shown
    answer = rest[-1].answer
    assert answer.text == " ".join(sentences) and "Penguins designed it on the Moon." in answer.flagged
    assert answer.model == "fake:m" and answer.usage["output_tokens"] > 0
    app.close()


async def test_extractive_answers_stream_one_sentence_per_event(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path / "docs/aurora.md", DOC)
    app = Ragwright(settings)
    app.ingest([tmp_path / "docs"])
    events = [e async for e in stream_answer(app.asker("extractive"), "default", "How loud is it in night mode?")]
    assert isinstance(events[-1], Done) and all(isinstance(e, SentenceEvent) for e in events[:-1])
    assert " ".join(e.text for e in events[:-1]) == events[-1].answer.text
    app.close()
