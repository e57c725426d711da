"""Follow-up questions rewritten with the conversation before retrieval.

"Which parts are not?" means nothing to a retriever; after "Which parts does the warranty cover?" it means "Which
parts does the warranty not cover?". Two ways to get there:

- **by the generator** (when one is configured): the versioned prompt ``condense`` (:mod:`ragwright.prompts`) asks
  the model, through the gateway, for a self-contained question; the earlier turns are fenced as data. The rewrite is
  accepted only if every term it uses comes from the question or the conversation (a model cannot smuggle new content
  into retrieval), else the deterministic rewrite is used;
- **deterministically**: a question that reads as a follow-up (few content terms, or a pronoun that points back)
  carries the key terms of the previous user turn that it does not already have.

The rewritten question is what is retrieved and scored; when the documents do not support it, the answerer abstains
as for any question.

Example::

    history = [Turn("user", "Which parts does the warranty cover?"), Turn("assistant", "The compressor [1].")]
    condense("Which parts are not?", history).question   # "Which parts are not? (warranty cover)"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from ragwright.answering.injection_prompt import defuse, fence
from ragwright.errors import GatewayError
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, RequestContext
from ragwright.prompts.model import PromptVersion
from ragwright.prompts.packaged import packaged
from ragwright.retrieval.analysis import STOPWORDS, analyze, query_terms

__all__ = ["Rewrite", "RewriteMethod", "Turn", "condense", "follow_up_supported", "is_follow_up", "rewrite"]

# Words that point back to an earlier turn (en, de, fr, es).
_ANAPHORA = frozenset(
    """it its they them their theirs this that these those there such one ones other others also too same
    es sie er ihn ihm ihr ihre dies diese dieser dieses davon dafür dazu andere anderen auch
    il elle ils elles le la les lui leur leurs ce cela ça celui celle ceux celles autre autres aussi
    él ella ellos ellas lo los las le les eso esto ese esa esos esas otro otra otros otras también""".split()
)
_OPENERS = re.compile(r"^\s*(?:and|but|what about|how about|und|et|y|pero|mais|aber)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][^\W_]*", re.UNICODE)
FOLLOW_UP_MAX_TERMS = 2
"""A question with at most this many content terms is read as a follow-up (when there is history)."""
MAX_CARRIED = 8
MAX_REWRITE_CHARS = 400


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class RewriteMethod(StrEnum):
    """How the question that was retrieved came about."""

    NONE = "none"
    CARRIED = "carried"
    MODEL = "model"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """The question to retrieve and score, and how it was made from the one asked."""

    question: str
    method: RewriteMethod = RewriteMethod.NONE
    prompt_version: str | None = None


def is_follow_up(question: str) -> bool:
    """Whether ``question`` reads as depending on earlier turns."""
    words = [w.lower() for w in _WORD.findall(question)]
    return (
        len(query_terms(question)) <= FOLLOW_UP_MAX_TERMS
        or any(w in _ANAPHORA for w in words)
        or bool(_OPENERS.match(question))
    )


def _key_words(text: str) -> list[str]:
    """Content words of ``text`` in order, once each (surface forms, so the retriever analyses them itself)."""
    out: dict[str, None] = {}
    for word in _WORD.findall(text):
        low = word.lower()
        if low not in STOPWORDS and low not in _ANAPHORA and len(low) > 1:
            out.setdefault(low, None)
    return list(out)


def condense(question: str, history: Sequence[Turn]) -> Rewrite:
    """The deterministic rewrite: carry the previous user turn's key terms into a follow-up question."""
    previous = next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")
    if not previous or not is_follow_up(question):
        return Rewrite(question)
    have = set(analyze(question))
    carried = [w for w in _key_words(previous) if not set(analyze(w)) <= have][:MAX_CARRIED]
    if not carried:
        return Rewrite(question)
    return Rewrite(f"{question.strip()} ({' '.join(carried)})", RewriteMethod.CARRIED)


def follow_up_supported(asked: str, matched: Sequence[Sequence[str]]) -> bool:
    """Whether evidence for a rewritten follow-up bears on what the follow-up itself asks: some sentence must match
    one of its own terms (``matched`` holds each sufficiently supported sentence's matched terms), else the carried
    terms alone found the passage ("And which refrigerant?" after a warranty question must not answer about the
    warranty). A follow-up with no term of its own ("And that?") is not checked."""
    own = set(query_terms(asked))
    return not own or any(own & set(m) for m in matched)


def _grounded(candidate: str, question: str, history: Sequence[Turn]) -> bool:
    """Every term of the model's rewrite appears in the question or the conversation."""
    known = set(analyze(question)).union(*(set(analyze(t.content)) for t in history))
    terms = set(analyze(candidate))
    return bool(terms) and terms <= known


def rewrite(
    question: str,
    history: Sequence[Turn],
    *,
    chat: Callable[[ChatRequest], ChatResponse] | None = None,
    model: str = "default",
    context: RequestContext | None = None,
    prompt: PromptVersion | None = None,
) -> Rewrite:
    """The question to retrieve: the model's rewrite (with ``prompt``, the packaged ``condense`` by default) when
    ``chat`` is given and the rewrite is grounded, else :func:`condense`. Without history the question is returned
    unchanged."""
    if not any(t.content.strip() for t in history):
        return Rewrite(question)
    if chat is not None and is_follow_up(question):
        transcript = "\n".join(f"<turn role={t.role}>{defuse(t.content)}</turn>" for t in history[-6:])
        fenced, boundary = fence(transcript, "CONVERSATION")
        body = fenced.split("\n", 1)[1].rsplit("\n", 1)[0]
        version = prompt or packaged("condense")
        text = version.render(boundary=boundary, history=body, question=question).strip()
        try:
            reply = chat(
                ChatRequest(
                    model=model,
                    temperature=0.0,
                    seed=0,
                    max_tokens=96,
                    messages=(Message("user", text),),
                    context=replace(context or RequestContext(), prompt=version.ref),
                )
            )
        except GatewayError:
            reply = None
        if reply is not None:
            candidate = " ".join(reply.text.split())[:MAX_REWRITE_CHARS]
            if _grounded(candidate, question, history):
                return Rewrite(candidate, RewriteMethod.MODEL, version.tag)
    return condense(question, history)
