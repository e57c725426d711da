"""Does the evidence support a generated sentence? The offline check: lexical and embedding evidence, plus
consistency checks that similarity cannot make (numbers, units, names, negation).

A sentence is compared with *evidence units*: each evidence sentence alone, and each pair of adjacent sentences of
one passage (a claim often joins a sentence to the one before it, "He was born in 1856" after "Tesla ..."). Units are
ranked by content-word coverage plus embedding similarity; a sentence is supported when one of the best units

- covers enough of its content words (stemmed, stop words removed), or is very close in meaning and covers most;
- states every number it states, and with the same unit ("3 million" is not "3 billion", "5 km" is not "5 miles");
- mentions every name it mentions (capitalised words past the first, acronyms, gene-like tokens);
- agrees with it on negation.

Repeated sentences (the same words again, whatever the case, punctuation or citation markers) are collapsed: the
first is kept, the others are :attr:`Failure.REPEAT`.

Example::

    units = [EvidenceText("The outdoor unit runs at 38 dB in night mode.", passage="p1")]
    verify_offline(["The outdoor unit runs at 45 dB at night."], units, embedder)[0].failure   # Failure.NUMBER
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ragwright.models.base import Embedder
from ragwright.retrieval.analysis import query_terms

# Tuned on the tune half of bench/data/verifier (see docs/benchmarks.md); never on the test half.
MIN_COVERAGE = 0.75
"""Share of the sentence's content words the unit must contain..."""
CLOSE_SIMILARITY = 0.75
CLOSE_COVERAGE = 0.6
"""...or this share, when the embeddings are at least CLOSE_SIMILARITY apart (paraphrases)."""
CANDIDATES = 2
"""Best-ranked units tried before the sentence is declared unsupported."""
REPEAT_JACCARD = 0.9
NEGATION_SCOPE = 4
"""Words after a negation that it bears on."""


class Failure(StrEnum):
    """Why a sentence was not kept."""

    REPEAT = "repeat"
    NUMBER = "number"
    UNIT = "unit"
    ENTITY = "entity"
    NEGATION = "negation"
    UNSUPPORTED = "unsupported"
    """Too few of its words in any evidence unit (and not close enough in meaning)."""
    JUDGE = "judge"
    """The model judge said the evidence does not support it."""


@dataclass(frozen=True, slots=True)
class EvidenceText:
    """One evidence sentence: its text, the passage it comes from (units never join passages) and that passage's
    context (title and headings: a name found there counts as mentioned)."""

    text: str
    passage: str = ""
    context: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The check of one sentence: kept or not, the evidence sentence it rests on, and why it failed."""

    sentence: str
    supported: bool
    evidence: int | None
    """Index (into the evidence list) of the best-matching evidence sentence."""
    failure: Failure | None = None
    score: float = 0.0
    """Offline: the coverage of the best unit. Model judge: the probability of 'yes'."""
    judged_by: str = "offline"
    """offline | model"""


# ------------------------------------------------------------------------------------------ what a sentence states

_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_UNITS_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_COMPOUND = re.compile(r"\b(" + "|".join(_TENS) + r")[- ](" + "|".join(_UNITS_WORDS) + r")\b", re.I)
_NUM = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(?![\d])")
_NUM_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_UNIT_CANON = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "percentage points": "pp",
    "km": "km",
    "kilometres": "km",
    "kilometers": "km",
    "kilometre": "km",
    "kilometer": "km",
    "miles": "mi",
    "mile": "mi",
    "mi": "mi",
    "m": "m",
    "metres": "m",
    "meters": "m",
    "metre": "m",
    "meter": "m",
    "ft": "ft",
    "feet": "ft",
    "foot": "ft",
    "kg": "kg",
    "kilograms": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pounds": "lb",
    "tons": "t",
    "tonnes": "t",
    "mg": "mg",
    "g": "g",
    "grams": "g",
    "ml": "ml",
    "l": "l",
    "mm": "mm",
    "cm": "cm",
    "years": "year",
    "year": "year",
    "months": "month",
    "month": "month",
    "weeks": "week",
    "week": "week",
    "days": "day",
    "day": "day",
    "hours": "hour",
    "hour": "hour",
    "minutes": "minute",
    "minute": "minute",
    "seconds": "second",
    "second": "second",
    "million": "million",
    "billion": "billion",
    "thousand": "thousand",
    "trillion": "trillion",
    "fold": "fold",
    "-fold": "fold",
    "times": "fold",
    "°c": "degc",
    "°f": "degf",
    "dollars": "usd",
    "euros": "eur",
    "acres": "acre",
    "hectares": "ha",
    "decades": "decade",
    "centuries": "century",
    "db": "db",
    "w": "w",
    "kw": "kw",
    "mw": "mw",
    "gb": "gb",
    "mb": "mb",
}
_UNIT_AFTER = re.compile(
    r"\s?(" + "|".join(re.escape(u) for u in sorted(_UNIT_CANON, key=len, reverse=True)) + r")(?![a-z])", re.I
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|neither|nor|cannot|without|lack(?:s|ed|ing)?|fail(?:s|ed)?)\b|n't\b", re.I
)
_CAPITALISED = re.compile(r"(?<=[^\s.!?:]\s)[A-Z][\w'’-]*[A-Za-z0-9]|\b[A-Za-z]*[A-Z][A-Za-z]*\d[\w-]*|\b[A-Z]{2,}\w*")
_NOT_NAMES = frozenset({"I", "The", "A", "An", "In", "On", "It", "This", "That", "However", "NOT", "IN", "DOCUMENTS"})
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_WORDS = re.compile(r"[^\W_]+")


def digits(text: str) -> str:
    """Number words as digits ("sixty-two" -> "62", "ten" -> "10"), so "ten years" and "10 years" agree."""
    text = _COMPOUND.sub(lambda m: str(_TENS[m.group(1).lower()] + _UNITS_WORDS[m.group(2).lower()]), text)
    return _NUM_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).lower()], text)


def numbers(text: str) -> list[tuple[str, str | None]]:
    """The numbers a text states, normalised ("1,000" -> "1000", "ten" -> "10"), each with the unit after it."""
    text = digits(text)
    out: list[tuple[str, str | None]] = []
    for m in _NUM.finditer(text):
        value = m.group(1).replace(",", "").rstrip(".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        unit = _UNIT_AFTER.match(text, m.end())
        out.append((value, _UNIT_CANON[unit.group(1).lower()] if unit else None))
    return out


def names(text: str) -> set[str]:
    """Capitalised words past the first, acronyms and gene-like tokens, lower-cased, without a possessive 's."""
    return {_name_key(m.group(0)) for m in _CAPITALISED.finditer(text) if m.group(0) not in _NOT_NAMES}


def _name_key(name: str) -> str:
    return re.sub(r"['’]s$", "", name).lower()


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def normalise(sentence: str) -> str:
    """A sentence without citation markers, case and punctuation: what repeat detection compares."""
    return " ".join(_WORDS.findall(_MARKER.sub("", sentence).lower()))


# --------------------------------------------------------------------------------------------------------- units


@dataclass(frozen=True, slots=True)
class _Sentence:
    terms: frozenset[str]
    lowered: str
    context: str
    """The passage context (title, headings), lower-cased."""
    numbers: tuple[tuple[str, str | None], ...]
    negations: int
    negated_terms: frozenset[str]
    """The content words within a few words after each negation: what the negation bears on."""


def _sentence(e: EvidenceText) -> _Sentence:
    scoped: set[str] = set()
    for m in _NEGATION.finditer(e.text):
        scoped.update(query_terms(" ".join(e.text[m.end() :].split()[:NEGATION_SCOPE])))
    return _Sentence(
        frozenset(query_terms(digits(e.text))),
        e.text.lower(),
        e.context.lower(),
        tuple(numbers(e.text)),
        len(_NEGATION.findall(e.text)),
        frozenset(scoped),
    )


@dataclass(frozen=True, slots=True)
class _Unit:
    members: tuple[int, ...]
    terms: frozenset[str]
    lowered: str
    """The unit's text and its passage context, lower-cased: where names are looked up."""


def _units(evidence: Sequence[EvidenceText]) -> tuple[list[_Sentence], list[_Unit]]:
    sentences = [_sentence(e) for e in evidence]
    spans: list[tuple[int, ...]] = [(i,) for i in range(len(evidence))]
    spans += [(i, i + 1) for i in range(len(evidence) - 1) if evidence[i].passage == evidence[i + 1].passage]
    units = [
        _Unit(
            members,
            frozenset().union(*(sentences[i].terms for i in members)),
            " ".join(f"{sentences[i].lowered} {sentences[i].context}" for i in members),
        )
        for members in spans
    ]
    return sentences, units


def _check(
    sentence: str, terms: list[str], unit: _Unit, sentences: list[_Sentence], similarity: float
) -> tuple[Failure | None, float, int]:
    """The first consistency check the unit fails (None: it supports the sentence), its coverage, and its primary
    sentence (the member with most of the sentence's words). Numbers, names and negation must agree with the primary
    sentence itself (names may also come from the passage's title): a joined neighbour supplies only words."""
    coverage = sum(t in unit.terms for t in terms) / len(terms) if terms else 0.0
    primary = max(unit.members, key=lambda i: (sum(t in sentences[i].terms for t in terms), -i))
    main = sentences[primary]
    failure = _numbers_disagree(numbers(sentence), main.numbers)
    if failure is not None:
        return failure, coverage, primary
    if _names_disagree(sentence, main):
        return Failure.ENTITY, coverage, primary
    if _negation_disagrees(sentence, set(terms), main):
        return Failure.NEGATION, coverage, primary
    if coverage >= MIN_COVERAGE or (similarity >= CLOSE_SIMILARITY and coverage >= CLOSE_COVERAGE):
        return None, coverage, primary
    return Failure.UNSUPPORTED, coverage, primary


def _numbers_disagree(stated: list[tuple[str, str | None]], have: tuple[tuple[str, str | None], ...]) -> Failure | None:
    """NUMBER when the sentence states a number more often than the evidence does (a swapped number is often one
    the evidence states elsewhere); UNIT when the evidence gives a number only other units than the sentence does
    (a number the evidence states bare, as in "25.7 (95% CI ...) million", may take the sentence's unit)."""
    counts = Counter(v for v, _ in have)
    if any(n > counts[v] for v, n in Counter(v for v, _ in stated).items()):
        return Failure.NUMBER
    for value, unit_name in stated:
        given = {u for v, u in have if v == value}
        if unit_name is not None and unit_name not in given and given - {None}:
            return Failure.UNIT
    return None


def _names_disagree(sentence: str, main: _Sentence) -> bool:
    """A name the evidence sentence does not mention (its passage's title counts), or one the sentence mentions more
    often than the evidence does (a swapped name is often one the evidence sentence already holds)."""
    said = Counter(_name_key(m.group(0)) for m in _CAPITALISED.finditer(sentence) if m.group(0) not in _NOT_NAMES)
    for name, times in said.items():
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        there = len(pattern.findall(main.lowered))
        if there == 0 and not pattern.search(main.context):
            return True
        if there and times > there:
            return True
    return False


def _negation_disagrees(sentence: str, terms: set[str], main: _Sentence) -> bool:
    """More negations than the evidence: an inserted "not". Fewer: only when a negation of the evidence bears on
    the sentence's own words (a claim that quotes part of a sentence need not carry a "not" about another part)."""
    said = len(_NEGATION.findall(sentence))
    if said > main.negations:
        return True
    return said < main.negations and bool(main.negated_terms & terms)


def verify_offline(
    sentences: Sequence[str],
    evidence: Sequence[EvidenceText],
    embedder: Embedder | None,
    *,
    earlier: Sequence[str] = (),
) -> list[Verdict]:
    """One verdict per sentence, in order. ``earlier``: sentences the answer already holds (repeats of them fail)."""
    seen = [set(normalise(s).split()) for s in earlier]
    if not sentences:
        return []
    evidence_sentences, units = _units(evidence)
    sims = np.zeros((len(sentences), len(units)), dtype=np.float32)
    if embedder is not None and units:
        sent_sims = embedder.embed(list(sentences)) @ embedder.embed([e.text for e in evidence]).T
        for j, unit in enumerate(units):
            sims[:, j] = sent_sims[:, list(unit.members)].max(axis=1)
    verdicts: list[Verdict] = []
    for i, sentence in enumerate(sentences):
        words = set(normalise(sentence).split())
        if any(words == prev or _jaccard(words, prev) >= REPEAT_JACCARD for prev in seen):
            verdicts.append(Verdict(sentence, False, None, Failure.REPEAT))
            continue
        seen.append(words)
        verdicts.append(_verify_one(sentence, evidence_sentences, units, sims[i]))
    return verdicts


def _verify_one(sentence: str, sentences: list[_Sentence], units: list[_Unit], sims: np.ndarray) -> Verdict:
    if not units:
        return Verdict(sentence, False, None, Failure.UNSUPPORTED)
    terms = query_terms(digits(sentence))
    ranked = sorted(
        range(len(units)),
        key=lambda j: (-(sum(t in units[j].terms for t in terms) / max(1, len(terms)) + float(sims[j])), j),
    )
    first: tuple[Failure, float, int] | None = None
    for j in ranked[:CANDIDATES]:
        failure, coverage, primary = _check(sentence, terms, units[j], sentences, float(sims[j]))
        if failure is None:
            return Verdict(sentence, True, primary, None, coverage)
        if first is None:
            first = (failure, coverage, primary)
    assert first is not None
    return Verdict(sentence, False, first[2], first[0], first[1])


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0
