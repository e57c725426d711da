"""Markdown: parsed as CommonMark (markdown-it-py, tables and strikethrough on), one Section per heading.

The parser decides what a heading is, so a ``#`` line inside a fenced or indented code block is code, and a setext
heading is one only where CommonMark says so. The document text is the source, block by block, with what a reader
never sees taken out:

* heading lines become their plain text ("## Install ##" -> "Install"), between sections (a Section spans the body
  under its heading up to the next one; the heading itself lives on in ``heading_path``, "Install › Linux");
* backslash escapes lose their backslash (``in\\[CHUNK\\]`` -> ``in[CHUNK]``) outside code; code blocks and code spans
  are copied verbatim, fences included;
* HTML comments are dropped, and raw HTML blocks keep only their visible text (hidden elements dropped as in
  :mod:`ragwright.documents.html`); everything goes through :func:`~ragwright.documents.normalize.clean_text`.

Every character keeps its offset in the decoded file (:class:`~ragwright.documents.model.SourceMap`). YAML-style front
matter at the very top is honoured for ``title:`` and ``tags:`` (``tags: [a, b]``, ``tags: a, b`` or a ``- a``
list) and is not part of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragwright.documents.model import Section, SourceMap
from ragwright.documents.normalize import MappedText
from ragwright.documents.text import Extracted, TextBuilder, decode_text

if TYPE_CHECKING:
    from markdown_it.token import Token

__all__ = ["ParsedMarkdown", "load_markdown", "parse_markdown", "split_front_matter"]

_FRONT_MATTER_END = ("---", "...")
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)+?(?<!`)\1(?!`)")
_HIDDEN_INLINE = re.compile(r"\\(?=[!-/:-@\[-`{-~])|<!--(?:.|\n)*?-->")
"""A backslash that escapes ASCII punctuation (CommonMark), or an inline HTML comment."""
_VERBATIM = frozenset({"fence", "code_block"})


@dataclass(frozen=True, slots=True)
class ParsedMarkdown:
    """A Markdown body as text: ``sections`` and ``source_map`` index into ``text`` (not into the Markdown)."""

    text: str
    sections: list[Section]
    title: str | None
    """Text of the first heading, if any."""
    source_map: SourceMap


def _parser() -> object:
    from markdown_it import MarkdownIt  # lazy: loaders are listed without importing any parser

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _line_offsets(text: str) -> list[int]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return [*starts, len(text)]


def _inline_plain(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_plain(child))
    return " ".join("".join(parts).split())


def _copy_prose(out: MappedText, source: str, start: int, end: int) -> None:
    """Source text without backslash escapes and HTML comments; code spans verbatim."""
    pos = start
    for span in _CODE_SPAN.finditer(source, start, end):
        _copy_outside_code(out, source, pos, span.start())
        out.append_clean(span.group(), span.start())
        pos = span.end()
    _copy_outside_code(out, source, pos, end)


def _copy_outside_code(out: MappedText, source: str, start: int, end: int) -> None:
    pos = start
    for match in _HIDDEN_INLINE.finditer(source, start, end):
        out.append_clean(source[pos : match.start()], pos)
        pos = match.end()
    out.append_clean(source[pos:end], pos)


def _html_block(source: str, start: int, end: int) -> MappedText:
    from ragwright.documents.html import html_fragment_text

    out = MappedText()
    for block in html_fragment_text(source[start:end]):
        if out.length:
            out.append("\n\n")
        out.extend(block.shifted(start))
    return out


def _nested_code(tokens: list[Token], i: int, lines: list[int]) -> list[tuple[int, int]]:
    """Source ranges of the code blocks inside the container block opened by ``tokens[i]`` (a list, a quote)."""
    ranges: list[tuple[int, int]] = []
    if tokens[i].nesting != 1:
        return ranges
    for token in tokens[i + 1 :]:
        if token.level == 0:
            break
        if token.type in _VERBATIM and token.map is not None:
            ranges.append((lines[token.map[0]], lines[min(token.map[1], len(lines) - 1)]))
    return ranges


def parse_markdown(text: str, offset: int = 0) -> ParsedMarkdown:
    """Text, sections with heading paths and the first heading as a title; ``offset`` shifts the source map (a body
    that followed front matter).

    Example::

        parsed = parse_markdown("# Guide\\nIntro\\n## Linux\\nRun \\\\*it\\\\*.")
        parsed.text                                  # "Guide\\n\\nIntro\\n\\nLinux\\n\\nRun *it*."
        [s.heading_path for s in parsed.sections]    # [("Guide",), ("Guide", "Linux")]
    """
    tokens: list[Token] = _parser().parse(text)  # type: ignore[attr-defined]
    lines = _line_offsets(text)
    builder = TextBuilder()
    stack: list[tuple[int, str]] = []
    headings: list[MappedText] = []
    title: str | None = None
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = lines[token.map[0]], lines[min(token.map[1], len(lines) - 1)]
        block = MappedText()
        if token.type == "heading_open":
            plain = _inline_plain(tokens[i + 1])
            block.append(plain, start + offset, end + offset)
            level = int(token.tag[1])
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, plain))
            title = title or plain or None
            headings.append(block)
            builder.add_heading(block)
            continue
        if token.type in _VERBATIM:
            block.append_clean(text[start:end], start)
        elif token.type == "html_block":
            block = _html_block(text, start, end)
        else:  # a paragraph, list, quote or table: prose, except code blocks nested in it
            pos = start
            for code_start, code_end in _nested_code(tokens, i, lines):
                _copy_prose(block, text, pos, code_start)
                block.append_clean(text[code_start:code_end], code_start)
                pos = code_end
            _copy_prose(block, text, pos, end)
        builder.add(block.shifted(offset) if offset else block, tuple(t for _, t in stack if t))
    body, sections = builder.build()
    if not sections and headings:  # only headings: keep them as the text rather than dropping the document
        builder = TextBuilder()
        for heading in headings:
            builder.add(heading)
        body, sections = builder.build()
    return ParsedMarkdown(text=body, sections=sections, title=title, source_map=builder.source_map())


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
    decoded = decode_text(data, source)
    body, fields = split_front_matter(decoded)
    parsed = parse_markdown(body, offset=len(decoded) - len(body))
    fm_title = fields.get("title")
    title = fm_title if isinstance(fm_title, str) and fm_title else parsed.title
    return Extracted(
        text=parsed.text,
        sections=parsed.sections,
        title=title,
        tags=_as_tags(fields.get("tags")),
        source_map=parsed.source_map,
        source_text=decoded,
    )
