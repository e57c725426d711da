"""Prompts that keep document text fenced as data: versioned prompt files and an unforgeable fence.

Every prompt that carries document text puts it between ``<<<DATA b>>>`` and ``<<<END DATA b>>>`` lines, where ``b``
is derived from the fenced text itself (a hash), and tells the model that nothing inside the fence is addressed to
it. A document cannot close the fence early: to write the closing line it would have to contain the hash of a text
that contains that hash. The prompt texts are versions in the prompt registry (:mod:`ragwright.prompts`; the packaged
``ragwright/prompts/*.txt`` are version 1); the caller passes the version it resolved, the packaged one by default.

Example::

    system, user = answer_messages("How loud is it?", [("aurora.md", "The outdoor unit runs at 38 dB.")])
    # system: "... They sit between the line <<<DATA 3f2a9c1d0b7e>>> and ..."
    # user:   the passages as <passage n="1" source="aurora.md">...</passage> between <<<DATA 3f2a9c1d0b7e>>>
    #         and <<<END DATA 3f2a9c1d0b7e>>> lines, then "Question: How loud is it?" and "Answer:"
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from ragwright.prompts.model import PromptVersion
from ragwright.prompts.packaged import packaged

__all__ = ["answer_messages", "boundary", "fence", "passages"]

# Tag-like text a document could use to fake the structure of the prompt; defused inside the fence.
_TAGS = re.compile(r"<(?=/?(?:passage|turn)\b)", re.IGNORECASE)
_FENCE = re.compile(r"<<<|>>>")


def defuse(text: str) -> str:
    """Document text with prompt-structure look-alikes (``<passage``, ``</turn``, ``<<<``) made inert."""
    return _FENCE.sub(lambda m: "‹‹‹" if m.group(0) == "<<<" else "›››", _TAGS.sub("‹", text))


def boundary(body: str) -> str:
    """The fence id for ``body``: a hash of it, so the body cannot contain its own closing line."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]


def fence(body: str, label: str = "DATA") -> tuple[str, str]:
    """``(fenced text, boundary)``: ``body`` between ``<<<LABEL b>>>`` and ``<<<END LABEL b>>>`` lines."""
    b = boundary(body)
    return f"<<<{label} {b}>>>\n{body}\n<<<END {label} {b}>>>", b


def passages(items: Sequence[tuple[str, str]]) -> str:
    """The numbered ``(source, text)`` passages, each in a ``<passage>`` element, their text defused."""
    return "\n".join(
        f'<passage n="{i}" source="{defuse(source)}">\n{defuse(text)}\n</passage>'
        for i, (source, text) in enumerate(items, start=1)
    )


def answer_messages(
    question: str, items: Sequence[tuple[str, str]], prompt: PromptVersion | None = None
) -> tuple[str, str]:
    """The system message (``prompt``, the packaged ``answer`` by default, naming this request's fence) and the user
    message (fenced ``(source, text)`` passages, then the question)."""
    fenced, b = fence(passages(items))
    system = (prompt or packaged("answer")).render(boundary=b).strip()
    return system, f"{fenced}\n\nQuestion: {question}\nAnswer:"
