"""Cut a Document into Chunks that respect its structure and the embedder's token budget.

Rules, in order of precedence:

1. A chunk never spans two sections with different heading paths or pages. Consecutive sections with the *same*
   heading path and page (DOCX paragraphs, a PDF page) form one unit. The one exception: consecutive *tiny* units
   (under ``max_tokens / 8``) under the same top-level heading on the same page are merged while they fit, and the
   chunk takes the first one's heading path. "Top-level" skips headings that every section shares and a first
   heading that repeats the title: a page-wide ``# Title`` would otherwise make the whole document one group.
2. ``count_tokens(chunk.indexed_text) <= max_tokens - 2`` (room for [CLS]/[SEP]). A counter that already adds special
   tokens is detected (``count_tokens("") > 0``) and its own total is held to ``max_tokens`` instead.
3. A unit too long for one chunk is cut at the strongest boundary that keeps the chunk at least half full: section,
   then paragraph (blank line), sentence, line, whitespace, and, for a run of characters with no whitespace
   (base64), a hard cut by characters. The next chunk then starts with up to ``overlap_tokens`` of the previous
   chunk's trailing whole sentences.

Each chunk carries ``source_spans``, where its text sits in the original file (from the document's
:class:`~ragwright.documents.model.SourceMap`; docs/adr/0005-offset-map.md).

Each paragraph is counted once (sentences only when a paragraph is too long, and so on down), and chunk sizes are
sums of those counts: WordPiece tokens never cross whitespace, so counts add up. Each emitted chunk is counted once
more to fill ``n_tokens`` and to verify the budget, so the total work is linear in the document length.

Example::

    chunks = chunk_document(doc, embedder, max_tokens=256, overlap_tokens=32)
    assert all(c.text == doc.text[c.char_start:c.char_end] for c in chunks)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragwright.documents.model import Chunk, Document
from ragwright.documents.text import trimmed_span
from ragwright.models.base import TokenCounter

__all__ = ["chunk_document", "make_context"]

CONTEXT_SEPARATOR = " › "
_SPECIAL_TOKENS = 2
_MAX_CHARS_PER_TOKEN = 12
"""A chunk also stays under ``max_tokens * 12`` characters: WordPiece maps any 100+ character word to one [UNK], so
without this a base64 blob would be "one token" and never cut."""

# Separators from strongest to weakest; the boundary before a piece gets the strength of the level that cut it.
_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"[.!?…][\"'”’)\]]*\s+"),  # sentence
    re.compile(r"\n\s*"),  # line
    re.compile(r"\s+"),  # word
)
_SENTENCE = _LEVELS[1]
_SECTION_STRENGTH = len(_LEVELS) + 1  # 5; levels give 4 (paragraph) .. 1 (word); 0 is a hard character cut


@dataclass(frozen=True, slots=True)
class _Atom:
    start: int
    end: int
    cost: int
    strength: int  # of the boundary before this atom


@dataclass(slots=True)
class _Unit:
    heading_path: tuple[str, ...]
    page: int | None
    spans: list[tuple[int, int]]
    context: str = ""
    budget: int = 0
    atoms: tuple[_Atom, ...] = ()
    tiny: bool = False

    @property
    def cost(self) -> int:
        return sum(a.cost for a in self.atoms)


_TITLE_PARTS = re.compile(r"\s+[-–—|·:]\s+")


def _repeats_title(heading: str, title: str) -> bool:
    """True for a heading equal to the title or to one of its parts ("Troubleshooting" in "Hub — Troubleshooting")."""
    heading = heading.casefold()
    return bool(title) and (heading == title.casefold() or heading in _TITLE_PARTS.split(title.casefold()))


def make_context(title: str, heading_path: tuple[str, ...]) -> str:
    """``"Title › H1 › H2"``; a first heading that repeats the title is left out."""
    parts = list(heading_path)
    if parts and _repeats_title(parts[0], title):
        parts = parts[1:]
    return CONTEXT_SEPARATOR.join(p for p in (title, *parts) if p)


class _Chunker:
    def __init__(self, doc: Document, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
        self.doc = doc
        self.text = doc.text
        self.counter = counter
        self.overhead = counter.count_tokens("")
        self.count_limit = max_tokens - _SPECIAL_TOKENS + self.overhead  # on count_tokens(indexed_text)
        self.total = max_tokens - _SPECIAL_TOKENS  # context + text, special tokens excluded
        self.tiny = max_tokens / 8
        self.max_chars = max_tokens * _MAX_CHARS_PER_TOKEN
        self.overlap = overlap_tokens

    def cost(self, text: str) -> int:
        return max(0, self.counter.count_tokens(text) - self.overhead)

    # -- units -------------------------------------------------------------------------------------------------
    def units(self) -> list[_Unit]:
        units: list[_Unit] = []
        cursor = 0
        for section in sorted(self.doc.sections, key=lambda s: s.start):
            start, end = trimmed_span(self.text, max(section.start, cursor), min(section.end, len(self.text)))
            if end <= start:
                continue
            last = units[-1] if units else None
            if last is not None and (last.heading_path, last.page) == (section.heading_path, section.page):
                # Same place in the structure (e.g. a repeated heading): one unit, the text between included.
                gap_start, _ = trimmed_span(self.text, cursor, start)
                last.spans.append((min(gap_start, start), end))
            else:
                units.append(_Unit(section.heading_path, section.page, [(start, end)]))
            cursor = end
        for unit in units:
            unit.context = self._fit_context(unit.heading_path)
            unit.budget = self.total - self.cost(unit.context)
            atoms: list[_Atom] = []
            for start, end in unit.spans:
                self._atomize(start, end, _SECTION_STRENGTH, 0, unit.budget, atoms)
            unit.atoms = tuple(atoms)
            unit.tiny = unit.cost < self.tiny
        return self._merge_tiny(units)

    def _fit_context(self, path: tuple[str, ...]) -> str:
        title = self.doc.title
        candidates = [make_context(title, path), make_context(title, path[-1:]), path[-1] if path else title, ""]
        return next(c for c in candidates if self.cost(c) <= self.total // 2)

    @staticmethod
    def _shared_prefix(units: list[_Unit]) -> int:
        """Length of the heading path every headed unit starts with (a page-wide H1 is not a "top-level" heading)."""
        paths = [u.heading_path for u in units if u.heading_path]
        if len(paths) < 2:
            return 0
        n = 0
        while all(len(p) > n and p[n] == paths[0][n] for p in paths):
            n += 1
        return n

    def _top(self, path: tuple[str, ...], skip: int) -> str:
        path = path[skip:] if len(path) > skip else ()
        if path and _repeats_title(path[0], self.doc.title):
            path = path[1:]
        return path[0] if path else ""

    def _merge_tiny(self, units: list[_Unit]) -> list[_Unit]:
        merged: list[_Unit] = []
        skip = self._shared_prefix(units)
        for unit in units:
            prev = merged[-1] if merged else None
            if (
                prev is None
                or not (prev.tiny and unit.tiny and prev.page == unit.page)
                or self._top(prev.heading_path, skip) != self._top(unit.heading_path, skip)
                or unit.spans[-1][1] - prev.spans[0][0] > self.max_chars
            ):
                merged.append(unit)
                continue
            # The text between the two (the second one's heading line) joins the chunk, so it is counted too.
            first, *rest = unit.atoms
            gap_start, _ = trimmed_span(self.text, prev.spans[-1][1], first.start)
            joined = _Atom(gap_start, first.end, self.cost(self.text[gap_start : first.start]) + first.cost, 0)
            if prev.cost + joined.cost + sum(a.cost for a in rest) > prev.budget:
                merged.append(unit)
                continue
            prev.spans.append((gap_start, unit.spans[0][1]))
            prev.spans.extend(unit.spans[1:])
            prev.atoms = (*prev.atoms, _Atom(joined.start, joined.end, joined.cost, _SECTION_STRENGTH), *rest)
        return merged

    # -- atoms -------------------------------------------------------------------------------------------------
    def _atomize(self, start: int, end: int, strength: int, level: int, budget: int, out: list[_Atom]) -> None:
        # Too many characters means too long whatever the count: skip counting text that will be split anyway.
        cost = self.cost(self.text[start:end]) if end - start <= self.max_chars else budget + 1
        while True:
            if cost <= budget:
                out.append(_Atom(start, end, cost, strength))
                return
            if level >= len(_LEVELS):
                self._hard_split(start, end, strength, budget, out)
                return
            cuts = [m.end() for m in _LEVELS[level].finditer(self.text, start, end) if m.end() < end]
            if cuts:
                break
            level += 1  # nothing to cut at this level: same span, next level, no recount
        piece_strength = len(_LEVELS) - level
        bounds = [start, *cuts, end]
        for k in range(len(bounds) - 1):
            s, e = trimmed_span(self.text, bounds[k], bounds[k + 1])
            if e > s:
                self._atomize(s, e, strength if k == 0 else piece_strength, level + 1, budget, out)

    def _hard_split(self, start: int, end: int, strength: int, budget: int, out: list[_Atom]) -> None:
        pos = start
        while pos < end:
            n = min(end - pos, self.max_chars)
            cost = self.cost(self.text[pos : pos + n])
            while cost > budget and n > 1:
                n = max(1, min(n - 1, n * budget // max(cost, 1)))
                cost = self.cost(self.text[pos : pos + n])
            out.append(_Atom(pos, pos + n, cost, strength if pos == start else 0))
            pos += n

    # -- packing -----------------------------------------------------------------------------------------------
    def _overlap_start(self, prev_start: int, prev_end: int, limit: int) -> tuple[int, int]:
        """Start and cost of the longest run of trailing whole sentences of [prev_start, prev_end) within ``limit``."""
        starts = [m.end() for m in _SENTENCE.finditer(self.text, prev_start, prev_end) if m.end() < prev_end]
        best, best_cost, total, stop = prev_end, 0, 0, prev_end
        for s in reversed(starts):
            total += self.cost(self.text[s:stop])
            if total > limit:
                break
            best, best_cost, stop = s, total, s
        return best, best_cost

    def pack(self, unit: _Unit) -> list[tuple[int, int]]:
        atoms, budget = unit.atoms, unit.budget
        overlap = min(self.overlap, budget // 2)
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(atoms):
            start, used = atoms[i].start, 0
            if spans and overlap > 0:
                ov_start, ov_cost = self._overlap_start(*spans[-1], overlap)
                if (
                    ov_start < spans[-1][1]
                    and ov_cost + atoms[i].cost <= budget
                    and atoms[i].end - ov_start <= self.max_chars
                ):
                    start, used = ov_start, ov_cost
            j = i
            while j < len(atoms) and used + atoms[j].cost <= budget and atoms[j].end - start <= self.max_chars:
                used += atoms[j].cost
                j += 1
            j = max(j, i + 1)
            if j < len(atoms):
                j = self._best_cut(atoms, i, j, used, budget)
            spans.append((start, atoms[j - 1].end))
            i = j
        return spans

    @staticmethod
    def _best_cut(atoms: tuple[_Atom, ...], i: int, j: int, used: int, budget: int) -> int:
        """Among cuts that keep the chunk at least half full, the strongest boundary; ties go to the latest."""
        best, best_strength = j, atoms[j].strength
        fill = used
        for k in range(j - 1, i, -1):  # cut before atom k
            fill -= atoms[k].cost
            if fill < budget / 2:
                break
            if atoms[k].strength > best_strength:
                best, best_strength = k, atoms[k].strength
        return best

    def chunks(self) -> list[Chunk]:
        out: list[Chunk] = []
        for unit in self.units():
            for start, end in self.pack(unit):
                self._emit(unit, start, end, out)
        return out

    def _emit(self, unit: _Unit, start: int, end: int, out: list[Chunk]) -> None:
        """Append the chunk for [start, end); if the counter disagrees with the summed counts, halve and retry.

        With a whitespace-respecting counter (WordPiece) the sums are exact and this never recurses.
        """
        text = self.text[start:end]
        indexed = f"{unit.context}\n{text}" if unit.context else text
        n_tokens = self.counter.count_tokens(indexed)
        if n_tokens > self.count_limit and end - start > 1:
            inner = [a.start for a in unit.atoms if start < a.start < end]
            middle = inner[len(inner) // 2] if inner else start + (end - start) // 2
            for s, e in (trimmed_span(self.text, start, middle), trimmed_span(self.text, middle, end)):
                if e > s:
                    self._emit(unit, s, e, out)
            return
        ordinal = len(out)
        out.append(
            Chunk(
                id=Chunk.make_id(self.doc.doc_id, ordinal, indexed),
                doc_id=self.doc.doc_id,
                ordinal=ordinal,
                text=text,
                context=unit.context,
                char_start=start,
                char_end=end,
                heading_path=unit.heading_path,
                page=unit.page,
                n_tokens=n_tokens,
                source_spans=self.doc.source_map.spans(start, end) if self.doc.source_map is not None else (),
            )
        )


def chunk_document(
    doc: Document, counter: TokenCounter, *, max_tokens: int = 256, overlap_tokens: int = 32
) -> list[Chunk]:
    """Chunks of ``doc`` in document order; see the module docstring for the rules.

    ``counter`` is usually the embedder itself (every Embedder is a TokenCounter). Raises ``ValueError`` for a
    ``max_tokens`` too small to hold anything.
    """
    if max_tokens <= _SPECIAL_TOKENS + 1:
        raise ValueError(f"max_tokens must be greater than {_SPECIAL_TOKENS + 1}, got {max_tokens}")
    if overlap_tokens < 0:
        raise ValueError(f"overlap_tokens must be >= 0, got {overlap_tokens}")
    return _Chunker(doc, counter, max_tokens, overlap_tokens).chunks()
