"""Small generated fixtures for the eval tests: a SQuAD-format file, a BEIR directory, a LlamaIndex dataset, and a
scripted judge that reads its prompt and decides (word overlap between claim and evidence), never a constant."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ragwright.gateway.types import ChatRequest
from ragwright.testing import FakeChatModel

FACTS = [
    (
        "Aurora",
        "The Aurora heat pump runs at 38 dB in night mode.",
        "How loud is the Aurora heat pump at night?",
        "38 dB",
    ),
    (
        "Borealis",
        "The Borealis boiler burns wood pellets from Finland.",
        "What fuel does the Borealis boiler burn?",
        "wood pellets",
    ),
    (
        "Cirrus",
        "The Cirrus fan spins at 1200 revolutions per minute.",
        "How fast does the Cirrus fan spin?",
        "1200 revolutions per minute",
    ),
    (
        "Draco",
        "The Draco kettle boils one litre of water in 90 seconds.",
        "How quickly does the Draco kettle boil?",
        "90 seconds",
    ),
    (
        "Eos",
        "The Eos lamp emits warm light at 2700 kelvin.",
        "What colour temperature does the Eos lamp emit?",
        "2700 kelvin",
    ),
    (
        "Fornax",
        "The Fornax oven preheats to 220 degrees in eight minutes.",
        "How long does the Fornax oven preheat?",
        "eight minutes",
    ),
    (
        "Gemini",
        "The Gemini router covers four hundred square metres.",
        "What area does the Gemini router cover?",
        "four hundred square metres",
    ),
    (
        "Hydra",
        "The Hydra pump lifts water twelve metres high.",
        "How high does the Hydra pump lift water?",
        "twelve metres",
    ),
    ("Ixion", "The Ixion drill weighs exactly two kilograms.", "How much does the Ixion drill weigh?", "two kilograms"),
    (
        "Juno",
        "The Juno speaker plays for thirty hours on one charge.",
        "How long does the Juno speaker play?",
        "thirty hours",
    ),
]


def squad_json(path: Path) -> Path:
    data: dict[str, Any] = {"data": []}
    for i, (title, context, question, answer) in enumerate(FACTS):
        start = context.index(answer)
        data["data"].append(
            {
                "title": title,
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {"id": f"q{i}", "question": question, "answers": [{"text": answer, "answer_start": start}]}
                        ],
                    }
                ],
            }
        )
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    return squad_json(tmp_path / "squad.json")


_WORDS = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "of", "in", "at", "on", "is", "does", "how", "what", "one"}


def words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOP}


def _section(prompt: str, head: str, stop: str | None) -> str:
    """The text under ``head``, without the ``<<<...>>>`` fence lines that mark quoted text as data."""
    body = prompt.split(head + ":\n", 1)[1]
    body = body.split(stop + ":\n", 1)[0] if stop else body.split("\n\nReply with", 1)[0]
    body = body.split("\n\nEverything between", 1)[0]
    return "\n".join(line for line in body.splitlines() if not line.startswith("<<<")).strip()


def scripted_judge(request: ChatRequest) -> str:
    """A judge that reads the rubric prompt: claims are the answer's sentences; a claim or sentence is supported when
    80% of its words appear in the evidence; relevance is the share of question words the answer repeats."""
    prompt = request.messages[-1].content or ""
    if "split the ANSWER into its atomic factual claims" in prompt:
        answer = _section(prompt, "ANSWER", None)
        return json.dumps({"claims": [s.strip() for s in re.split(r"(?<=\.)\s+", answer) if s.strip()]})
    if "Decide, for each numbered CLAIM" in prompt:
        evidence = words(_section(prompt, "EVIDENCE", "CLAIMS"))
        claims = re.findall(r"^(\d+)\. (.*)$", _section(prompt, "CLAIMS", None), re.M)
        return json.dumps(
            {
                "verdicts": [
                    {"index": int(i), "supported": _covered(c, evidence), "reason": "overlap"} for i, c in claims
                ]
            }
        )
    if "Each numbered PAIR" in prompt:
        pairs = re.findall(r"^(\d+)\. SENTENCE: (.*)\n   PASSAGE: (.*)$", prompt, re.M)
        return json.dumps(
            {
                "verdicts": [
                    {"index": int(i), "supported": _covered(s, words(p)), "reason": "overlap"} for i, s, p in pairs
                ]
            }
        )
    if "Rate how well the ANSWER addresses the QUESTION" in prompt:
        q = words(_section(prompt, "QUESTION", "ANSWER"))
        a = words(_section(prompt, "ANSWER", None))
        share = len(q & a) / max(len(q), 1)
        return json.dumps({"score": 1 + round(4 * share), "reason": f"{len(q & a)} question words answered"})
    if "comparing two answers" in prompt:
        a = _section(prompt, "ANSWER A", "ANSWER B")
        b = _section(prompt, "ANSWER B", None)
        return json.dumps({"winner": "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie", "reason": "longer"})
    raise AssertionError(f"unexpected judge prompt: {prompt[:80]}")


def _covered(text: str, evidence: set[str]) -> bool:
    w = words(text)
    return bool(w) and len(w & evidence) / len(w) >= 0.8


@pytest.fixture
def judge_model() -> FakeChatModel:
    return FakeChatModel(scripted_judge, name="fake:judge")
