"""Sentence splitting with character offsets, good enough for documentation prose, lists and headings."""

from __future__ import annotations

import re

# A boundary: end punctuation followed by space and an opening character, or a line break that starts a new block
# (blank line, list item, heading, table row).
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])"
    r"|\n\s*\n"
    r"|\n(?=\s*(?:[-*+•]|\d+[.)]|#{1,6}\s|\|))"
    r"|(?<=:)[ \t]*\n(?=\s*[A-Z])"
)
# A model's own citation markers ("[1]", "[1, 2]") with the space before them: not trusted, citations are recomputed.
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "Dr.", "Mr.", "Mrs.", "Ms.", "No.", "Fig.", "approx.", "Inc.")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the sentences of ``text``, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        if text[start:end].rstrip().endswith(_ABBREVIATIONS) and "\n" not in match.group(0):
            continue
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and any(ch.isalnum() for ch in text[s:e]):
            out.append((s, e))
    return out


def reply_sentences(text: str) -> list[str]:
    """The sentences of a model's reply with its own ``[n]`` markers removed; sentences left empty are dropped."""
    sentences = (_MARKER.sub("", text[s:e]).strip() for s, e in split_sentences(text))
    return [s for s in sentences if s]
