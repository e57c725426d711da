"""What a run's tools returned, as numbered passages, and a final answer checked against them like ``ask``'s.

:func:`collect_passages` reads the tool results of a run's conversation: a ``search`` result gives its passages, an
``answer`` result the snippets it cites, a ``get_document`` (or ``fetch``) result the text, and any other tool's text
output (an MCP server's) one passage named after the tool. Errors are skipped; each distinct (source, text) counts
once, numbered in order.

:func:`check_answer` checks each sentence of a final answer against the sentences of those passages with the checker
``ask`` uses (:func:`ragwright.answering.verify.verify_offline`): a supported sentence gets the ``[n]`` of the
passage that supports it; a sentence no passage supports is listed as ``unsupported`` (it is kept in the answer: an
agent's answer also holds sentences that state no fact, such as "I could not find the price").

Example::

    checked = check_answer("The warranty lasts 3 years.", run.messages, embedder)
    checked.text          # "The warranty lasts 3 years. [1]"
    checked.citations     # [Citation(n=1, source="warranty.md", ...)]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragwright.answering.sentences import reply_sentences, split_sentences
from ragwright.answering.verify import EvidenceText, verify_offline
from ragwright.gateway.types import Message, ToolCall
from ragwright.models.base import Embedder

__all__ = ["AnswerCitation", "CheckedAnswer", "Passage", "check_answer", "collect_passages"]


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage a tool returned, numbered (``n``, 1-based) across the run."""

    n: int
    source: str
    text: str
    heading: str = ""
    page: int | None = None
    query: str = ""
    knowledge_base: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "heading": self.heading,
            "page": self.page,
            "query": self.query,
            "knowledge_base": self.knowledge_base,
            "text": self.text,
        }


def _unfence(content: str) -> str:
    lines = content.split("\n")
    if len(lines) >= 2 and lines[0].startswith("<<<") and lines[-1].startswith("<<<END"):
        return "\n".join(lines[1:-1])
    return content


def _tool_calls(messages: Sequence[Message]) -> dict[str, ToolCall]:
    return {c.id: c for m in messages if m.role == "assistant" for c in m.tool_calls}


def _found(name: str, body: str) -> list[tuple[str, str, str, Any]]:
    """(source, text, heading, page) of one tool output."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("passages"), list):  # search
        return [
            (str(p.get("source", "")), str(p.get("text", "")), str(p.get("heading") or ""), p.get("page"))
            for p in data["passages"]
            if isinstance(p, dict)
        ]
    if isinstance(data, dict) and isinstance(data.get("citations"), list):  # answer
        return [
            (str(c.get("location", "")), str(c.get("snippet", "")), "", None)
            for c in data["citations"]
            if isinstance(c, dict)
        ]
    if isinstance(data, dict) and isinstance(data.get("text"), str) and ("doc_id" in data or "url" in data):
        source = str(data.get("doc_id") or data.get("url"))  # get_document, fetch
        return [(source, data["text"], str(data.get("title") or ""), None)]
    return [(name, body, "", None)] if body.strip() else []


def collect_passages(messages: Sequence[Message]) -> list[Passage]:
    """The passages of every tool result in ``messages`` (see the module docstring)."""
    calls = _tool_calls(messages)
    out: list[Passage] = []
    seen: set[tuple[str, str]] = set()
    for m in messages:
        if m.role != "tool" or not m.content:
            continue
        body = _unfence(m.content)
        if body.startswith("ERROR:"):
            continue
        call = calls.get(m.tool_call_id or "")
        try:
            args = json.loads(call.arguments) if call else {}
        except json.JSONDecodeError:
            args = {}
        query, kb = str(args.get("query", "")), str(args.get("knowledge_base", ""))
        for source, text, heading, page in _found(m.name or "tool", body):
            if (source, text) in seen or not text.strip():
                continue
            seen.add((source, text))
            out.append(Passage(len(out) + 1, source, text, heading, page if isinstance(page, int) else None, query, kb))
    return out


def passage_evidence(passages: Sequence[Passage]) -> tuple[list[EvidenceText], list[int]]:
    """The sentences of ``passages`` as evidence for :func:`verify_offline`, and the passage number of each."""
    texts: list[EvidenceText] = []
    owner: list[int] = []
    for p in passages:
        for start, end in split_sentences(p.text):
            texts.append(EvidenceText(p.text[start:end], passage=str(p.n), context=" ".join((p.source, p.heading))))
            owner.append(p.n)
    return texts, owner


@dataclass(frozen=True, slots=True)
class AnswerCitation:
    """A passage a sentence of the final answer rests on: its number in the answer, where it is, a snippet."""

    n: int
    source: str
    heading: str
    page: int | None
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "source": self.source, "heading": self.heading, "page": self.page, "snippet": self.snippet}


@dataclass
class CheckedAnswer:
    """A final answer with ``[n]`` after each supported sentence, its citations, and the unsupported sentences."""

    text: str
    citations: list[AnswerCitation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def check_answer(answer: str, messages: Sequence[Message], embedder: Embedder | None) -> CheckedAnswer | None:
    """``answer`` checked against the passages the run's tools returned; None when they returned none."""
    passages = collect_passages(messages)
    evidence, owner = passage_evidence(passages)
    if not evidence or not answer.strip():
        return None
    sentences = reply_sentences(answer)
    verdicts = verify_offline(sentences, evidence, embedder)
    by_n = {p.n: p for p in passages}
    numbers: dict[int, int] = {}
    out: list[str] = []
    checked = CheckedAnswer("")
    for verdict in verdicts:
        if not verdict.supported or verdict.evidence is None:
            out.append(verdict.sentence)
            if verdict.failure is None or verdict.failure.value != "repeat":
                checked.unsupported.append(verdict.sentence)
            continue
        p = by_n[owner[verdict.evidence]]
        if p.n not in numbers:
            numbers[p.n] = len(numbers) + 1
            snippet = evidence[verdict.evidence].text
            checked.citations.append(AnswerCitation(numbers[p.n], p.source, p.heading, p.page, snippet))
        out.append(f"{verdict.sentence} [{numbers[p.n]}]")
    checked.text = " ".join(out)
    return checked
