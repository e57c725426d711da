"""Where each extracted value came from: its range in the document's text and in the original file.

A value is looked for in the text the model read (the chunk it was extracted from first, then the whole document):
exactly, then ignoring case, then ignoring how whitespace and line breaks fall (a model joins an address's lines
with spaces). The range found in the normalised ``Document.text`` goes through the loader's offset map
(:class:`~ragwright.documents.model.SourceMap`, docs/adr/0005-offset-map.md) to the original: a PDF page and PDFium
character range, or a character range of the Markdown/HTML/text file. A value the text does not hold (reformatted,
computed or invented by the model) gets no span, which is itself worth showing: it is not a quote.

Example::

    locate("TOTAL 12.50\\nSHOP A", "12.50")          # (6, 11)
    field_values({"total": "12.50"}, doc, hints={"total": (0, 40)})
    # [FieldValue("total", "12.50", 6, 11, (SourceSpan(None, 6, 11),))]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ragwright.documents.model import Document, SourceSpan

__all__ = ["FieldValue", "field_values", "locate"]

_MIN_CHARS = 1
_MAX_TOKENS = 200


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One leaf value of the result (``path`` like ``items[0].name``) and where the document states it."""

    path: str
    value: Any
    start: int | None = None
    """Offsets into ``Document.text`` (None: the text does not hold this value as written)."""
    end: int | None = None
    spans: tuple[SourceSpan, ...] = ()
    """The same range in the original file (empty when the document has no offset map, or nothing was found)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "source_spans": [{"page": s.page, "start": s.start, "end": s.end} for s in self.spans],
        }


def locate(text: str, value: str, lo: int = 0, hi: int | None = None) -> tuple[int, int] | None:
    """The first range of ``text[lo:hi]`` that states ``value`` (exact, then any case, then any whitespace)."""
    hi = len(text) if hi is None else hi
    needle = value.strip()
    if len(needle) < _MIN_CHARS:
        return None
    at = text.find(needle, lo, hi)
    if at >= 0:
        return at, at + len(needle)
    window = text[lo:hi]
    at = window.lower().find(needle.lower())
    if at >= 0:
        return lo + at, lo + at + len(needle)
    tokens = needle.split()
    if len(tokens) > _MAX_TOKENS:
        return None
    pattern = r"\s*".join(re.escape(t) for t in tokens)
    match = re.search(pattern, window, re.IGNORECASE)
    return (lo + match.start(), lo + match.end()) if match else None


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def field_values(
    data: Mapping[str, Any], doc: Document, hints: Mapping[str, tuple[int, int]] | None = None
) -> list[FieldValue]:
    """Every leaf of ``data`` with its range; ``hints`` gives, per top-level field, the chunk (text range) it came
    from, which is searched first so a value that occurs twice is linked to the occurrence the model read."""
    out: list[FieldValue] = []
    for path, value in _leaves(dict(data), ""):
        if value is None or isinstance(value, bool) or value == "":
            out.append(FieldValue(path, value))
            continue
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        found = None
        if hints and top in hints:
            found = locate(doc.text, str(value), *hints[top])
        found = found or locate(doc.text, str(value))
        if found is None:
            out.append(FieldValue(path, value))
            continue
        start, end = found
        spans = doc.source_map.spans(start, end) if doc.source_map is not None else ()
        out.append(FieldValue(path, value, start, end, spans))
    return out
