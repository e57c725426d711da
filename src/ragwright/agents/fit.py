"""Fitting a run's conversation into its model's context window: the model's own count decides, tool outputs give way.

A run does not know its model's tokenizer. When the model (or the gateway for it) says a request is longer than its
window (:class:`~ragwright.errors.ContextLengthExceeded`, with the tokens it counted and its limit), the runner cuts
the longest tool output of the conversation by about the share it was over (plus a margin) and asks again, a few
times at most. The cut text ends with a note saying so; the whole output stays in the call's record
(``ragwright agent show``). A small local model (2,048 tokens) otherwise fails at the step after its first search.

Example::

    if shorten_tool_outputs(run.messages, err.tokens, err.limit):
        ...  # ask the model again with the shorter conversation
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ragwright.errors import ContextLengthExceeded
from ragwright.gateway.types import Message

T = TypeVar("T")

__all__ = ["CUT_NOTE", "FIT_ATTEMPTS", "ask_within_window", "shorten_tool_outputs"]

CUT_NOTE = "[... cut to fit the model's context window]"
FIT_ATTEMPTS = 4
"""Times one step asks again after cutting, before the run fails with the model's error."""
MIN_CHARS = 200
"""A tool output is never cut below this many characters of its text."""
MARGIN = 0.1
"""Cut this share of the conversation beyond what the model said was over (its reply and tokenizer need room)."""


def _parts(content: str) -> tuple[str, str, str]:
    """``(opening fence line, body, closing fence line)`` of a fenced tool output (no fence: the whole is body)."""
    first, last = content.find("\n"), content.rfind("\n")
    if content.startswith("<<<") and 0 < first < last and content[last + 1 :].startswith("<<<END"):
        return content[: first + 1], content[first + 1 : last], content[last:]
    return "", content, ""


def _text(message: Message) -> tuple[str, str, str]:
    head, body, tail = _parts(message.content or "")
    return head, body.removesuffix(CUT_NOTE).rstrip(), tail


def shorten_tool_outputs(messages: list[Message], tokens: int | None, limit: int | None) -> bool:
    """Cut the longest tool output in ``messages`` (in place) so the conversation shrinks by about the share the model
    was over its ``limit``; False when no tool output can be cut any further."""
    sizes = {i: len(_text(m)[1]) for i, m in enumerate(messages) if m.role == "tool"}
    candidates = [i for i, size in sizes.items() if size > MIN_CHARS]
    if not candidates:
        return False
    i = max(candidates, key=lambda j: sizes[j])
    head, body, tail = _text(messages[i])
    over = (tokens - limit) / tokens if tokens and limit and tokens > limit else 0.25
    total = sum(len(m.content or "") for m in messages)
    keep = max(MIN_CHARS, len(body) - int(total * (over + MARGIN)))
    messages[i] = dataclasses.replace(messages[i], content=f"{head}{body[:keep].rstrip()} {CUT_NOTE}{tail}")
    return True


async def ask_within_window(ask: Callable[[], Awaitable[T]], messages: list[Message], saved: Callable[[], None]) -> T:
    """``await ask()``; when the model finds ``messages`` longer than its window, cut a tool output, call ``saved``
    (the run is stored with the shorter conversation) and ask again, at most :data:`FIT_ATTEMPTS` times; the model's
    error when nothing more can be cut."""
    for attempt in range(FIT_ATTEMPTS + 1):
        try:
            return await ask()
        except ContextLengthExceeded as exc:
            if attempt == FIT_ATTEMPTS or not shorten_tool_outputs(messages, exc.tokens, exc.limit):
                raise
            saved()
    raise AssertionError("unreachable: the loop returns or raises")
