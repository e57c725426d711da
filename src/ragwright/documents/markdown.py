"""Markdown: one Section per heading, with the heading path that citations show ("Install › Linux").

The parser is deliberately small and line based; it understands exactly what sectioning needs:

* ATX headings (``## Linux``, optional closing ``##``) and setext headings (a line underlined with ``===`` or ``---``);
* fenced code blocks (```` ``` ```` or ``~~~``), inside which ``#`` lines are code, not headings;
* YAML-style front matter at the very top, from which ``title:`` and ``tags:`` are honoured (``tags: [a, b]``,
  ``tags: a, b`` or a ``- a`` list). The front matter is not part of the document text.

Heading lines themselves are not inside any Section (their text lives on in ``heading_path``); a Section spans the body
under its heading up to the next heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragwright.documents.model import Section
from ragwright.documents.text import Extracted, decode_text, trimmed_span

__all__ = ["ParsedMarkdown", "load_markdown", "parse_markdown", "split_front_matter"]

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_BLOCK_START = re.compile(r"^ {0,3}(?:[-*+>]|\d+[.)])(?:[ \t]|$)|^ {4}|^\t")
"""Lines that cannot be the text of a setext heading (list items, quotes, indented code)."""
_FRONT_MATTER_END = ("---", "...")


@dataclass(frozen=True, slots=True)
class ParsedMarkdown:
    sections: list[Section]
    title: str | None
    """Text of the first heading, if any."""


@dataclass(frozen=True, slots=True)
class _Heading:
    start: int  # first char of the heading line(s)
    body: int  # first char after the heading line(s)
    level: int
    text: str


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _clean_heading(raw: str) -> str:
    return " ".join(raw.split())


def _find_headings(text: str) -> list[_Heading]:
    headings: list[_Heading] = []
    fence: str | None = None
    block_ends: set[int] = set()  # lines that end a block (headings, fences): a paragraph can start right after
    lines = _lines(text)
    for i, (start, line) in enumerate(lines):
        body = start + len(line) + 1
        fence_match = _FENCE.match(line)
        if fence is not None:
            marker = fence_match.group(1) if fence_match else ""
            if marker[:1] == fence[0] and len(marker) >= len(fence) and not line.strip().lstrip(fence[0]):
                fence = None  # a closing fence: same character, at least as long, nothing after it
                block_ends.add(i)
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            headings.append(_Heading(start, body, len(atx.group(1)), _clean_heading(atx.group(2) or "")))
            block_ends.add(i)
            continue
        if i == 0 or not _SETEXT.match(line):
            continue
        prev_start, prev = lines[i - 1]
        # Only a one-line paragraph becomes a setext heading here (CommonMark allows more; rare in practice).
        starts_paragraph = i < 2 or not lines[i - 2][1].strip() or (i - 2) in block_ends
        if (
            prev.strip()
            and starts_paragraph
            and (i - 1) not in block_ends
            and not _BLOCK_START.match(prev)
            and not _FENCE.match(prev)
            and not _SETEXT.match(prev)
        ):
            level = 1 if line.strip()[0] == "=" else 2
            headings.append(_Heading(prev_start, body, level, _clean_heading(prev)))
            block_ends.add(i)
    return headings


def parse_markdown(text: str) -> ParsedMarkdown:
    """Sections (offsets into ``text``) per heading, with heading paths; and the first heading as a title.

    Example::

        parsed = parse_markdown("# Guide\\nIntro\\n## Linux\\nRun it.")
        [s.heading_path for s in parsed.sections]  # [("Guide",), ("Guide", "Linux")]
    """
    headings = _find_headings(text)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    cursor = 0
    for heading in [*headings, None]:
        end = heading.start if heading is not None else len(text)
        start, stop = trimmed_span(text, cursor, min(end, len(text)))
        if stop > start:
            sections.append(Section(start, stop, path))
        if heading is None:
            break
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.text))
        path = tuple(t for _, t in stack if t)
        cursor = min(heading.body, len(text))
    if not sections:
        # Only headings: keep them as the text rather than dropping the document.
        start, stop = trimmed_span(text, 0, len(text))
        if stop > start:
            sections.append(Section(start, stop))
    title = next((h.text for h in headings if h.text), None)
    return ParsedMarkdown(sections=sections, title=title)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def split_front_matter(text: str) -> tuple[str, dict[str, str | list[str]]]:
    """Split ``---``-delimited front matter from the body; returns (body, fields). Unterminated: no front matter.

    Only flat ``key: value`` pairs and ``- item`` lists are read: enough for ``title`` and ``tags`` without YAML.
    """
    if not text.startswith("---\n"):
        return text, {}
    fields: dict[str, str | list[str]] = {}
    key: str | None = None
    pos = 4
    while pos < len(text):
        nl = text.find("\n", pos)
        line_end = len(text) if nl < 0 else nl
        line = text[pos:line_end]
        pos = line_end + 1
        if line.rstrip() in _FRONT_MATTER_END:
            return text[pos:] if pos <= len(text) else "", fields
        stripped = line.strip()
        if stripped.startswith("- ") and key is not None:
            current = fields.get(key)
            items = current if isinstance(current, list) else []
            items.append(_unquote(stripped[2:]))
            fields[key] = items
        elif ":" in line and not line[0].isspace():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                fields[key] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
            elif value:
                fields[key] = _unquote(value)
    return text, {}


def _as_tags(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else value.split(",")
    return tuple(dict.fromkeys(t.strip() for t in items if t.strip()))


def load_markdown(data: bytes, source: str) -> Extracted:
    """``.md``: front matter honoured, then sections per heading; the title is ``title:`` or the first heading."""
    body, fields = split_front_matter(decode_text(data, source))
    parsed = parse_markdown(body)
    fm_title = fields.get("title")
    title = fm_title if isinstance(fm_title, str) and fm_title else parsed.title
    return Extracted(text=body, sections=parsed.sections, title=title, tags=_as_tags(fields.get("tags")))
