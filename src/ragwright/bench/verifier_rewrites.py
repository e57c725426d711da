"""Sentence rewrites for the verifier benchmark: the rules that turn a true evidence sentence into a paraphrase, a
question into a statement, or an unsupported variant (swapped number, unit, entity, negation).

Used by :mod:`ragwright.bench.verifier_pairs`; every rule is deterministic given its ``random.Random``.
"""

from __future__ import annotations

import random
import re

_SYNONYMS = {
    "began": "started",
    "begun": "started",
    "started": "began",
    "approximately": "about",
    "large": "big",
    "largest": "biggest",
    "purchased": "bought",
    "bought": "purchased",
    "constructed": "built",
    "built": "constructed",
    "received": "got",
    "located": "situated",
    "several": "a number of",
    "many": "numerous",
    "important": "significant",
    "significant": "important",
    "main": "principal",
    "famous": "well-known",
    "called": "named",
    "named": "called",
    "because": "since",
    "died": "passed away",
    "demonstrated": "showed",
    "showed": "demonstrated",
    "shows": "demonstrates",
    "revealed": "showed",
    "decreased": "reduced",
    "reduced": "decreased",
    "associated with": "linked to",
    "individuals": "people",
    "enhanced": "improved",
    "required": "needed",
    "obtained": "got",
    "additionally": "in addition",
    "although": "though",
    "however, ": "",
    "also ": "",
    "in order to": "to",
    "primarily": "mainly",
    "mainly": "mostly",
    "frequently": "often",
    "often": "frequently",
    "commonly": "usually",
    "rapidly": "quickly",
    "initially": "at first",
    "eventually": "in the end",
    "nearly": "almost",
    "almost": "nearly",
    "increase in": "rise in",
    "prior to": "before",
    "following": "after",
}
_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_UNITS = {
    "km": "miles",
    "kilometres": "miles",
    "kilometers": "miles",
    "miles": "kilometres",
    "metres": "feet",
    "meters": "feet",
    "feet": "metres",
    "m": "ft",
    "kg": "lb",
    "kilograms": "pounds",
    "pounds": "kilograms",
    "tons": "kilograms",
    "tonnes": "kilograms",
    "mg": "g",
    "g": "mg",
    "ml": "l",
    "mm": "cm",
    "cm": "mm",
    "years": "months",
    "year": "month",
    "months": "years",
    "month": "year",
    "weeks": "days",
    "days": "weeks",
    "hours": "minutes",
    "minutes": "hours",
    "seconds": "minutes",
    "million": "billion",
    "billion": "million",
    "thousand": "million",
    "percent": "percentage points",
    "%": "-fold",
    "fold": "%",
    "°C": "°F",
    "dollars": "euros",
    "acres": "hectares",
    "hectares": "acres",
    "centuries": "decades",
    "decades": "centuries",
}
_UNIT_RE = re.compile(
    r"(?<=\d)(\s?)(" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + r")(?![A-Za-z])"
)
NUMBER_RE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_AUX_RE = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|does|did|may|might|should|must)\b(?! not)")
_NEG_RE = re.compile(r"\b(not|never) ")
_ENTITY_RE = re.compile(r"(?<=[a-z,;:] )(?:[A-Z][\w'’.-]*[A-Za-z0-9])(?: (?:of |de |the )?[A-Z][\w'’.-]*[A-Za-z0-9])*")
_ACRONYM_RE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z0-9])[A-Za-z][A-Za-z0-9-]{1,}\b")


def paraphrase(sentence: str, rng: random.Random) -> str | None:
    """A light meaning-preserving rewrite (synonyms, number words to digits, a parenthesis dropped), or None."""
    out = sentence
    changed = 0
    for word, repl in rng.sample(sorted(_SYNONYMS.items()), len(_SYNONYMS)):
        pattern = re.compile(rf"\b{re.escape(word)}" + (r"\b" if word[-1].isalpha() else ""))
        if pattern.search(out) and changed < 2:
            out = pattern.sub(repl, out, count=1)
            changed += 1
    for word, digit in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", out):
            out = re.sub(rf"\b{word}\b", digit, out, count=1)
            changed += 1
    no_paren = re.sub(r" \([^()]{3,80}\)", "", out)
    if no_paren != out and not NUMBER_RE.search(out[len(no_paren) :]):
        out, changed = no_paren, changed + 1
    out = re.sub(r"\s{2,}", " ", out)
    return out[0].upper() + out[1:] if changed and out != sentence else None


def swap_number(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    """One number changed: to another number of the same passage half the time, else shifted."""
    nums = [m for m in NUMBER_RE.finditer(sentence)]
    if not nums:
        return None
    m = rng.choice(nums)
    old = m.group(0)
    others = [n for n in pool if n != old and n.replace(",", "") != old.replace(",", "")]
    if others and rng.random() < 0.5:
        new = rng.choice(others)
    else:
        value = float(old.replace(",", ""))
        if 1000 <= value <= 2100 and "." not in old:
            new = str(int(value) + rng.choice([-3, -2, -1, 1, 2, 5, 10]))
        elif "." in old:
            decimals = len(old.split(".")[1])
            new = f"{value + rng.choice([1, 2, 3]) * 10**-decimals * rng.choice([1, 3, 7]):.{decimals}f}"
        else:
            new = str(int(value) + max(1, round(value * rng.choice([0.2, 0.5, 1.0]))))
    return sentence[: m.start()] + new + sentence[m.end() :]


def swap_unit(sentence: str, rng: random.Random) -> str | None:
    matches = list(_UNIT_RE.finditer(sentence))
    if not matches:
        return None
    m = rng.choice(matches)
    new = _UNITS[m.group(2)]
    space = "" if new in ("%", "-fold") else " "
    return sentence[: m.start()] + space + new + sentence[m.end() :]


def negate(sentence: str, rng: random.Random) -> str | None:
    """Remove a 'not'/'never', or insert 'not' after the first auxiliary verb."""
    neg = _NEG_RE.search(sentence)
    if neg:
        return sentence[: neg.start()] + sentence[neg.end() :]
    aux = _AUX_RE.search(sentence)
    if aux:
        return sentence[: aux.end()] + " not" + sentence[aux.end() :]
    return None


def entities(text: str) -> list[str]:
    """Capitalised names that are not sentence-initial, and acronyms / gene-like tokens (IL-6, TNF)."""
    found = [m.group(0) for m in _ENTITY_RE.finditer(text)]
    found += [m.group(0) for m in _ACRONYM_RE.finditer(text) if len(m.group(0)) <= 12]
    return list(dict.fromkeys(e.rstrip(".") for e in found if len(e) > 1))


def swap_entity(sentence: str, pool: list[str], rng: random.Random) -> str | None:
    """One name replaced by another name from the same document (so the evidence mentions it, elsewhere)."""
    own = entities(sentence)
    if not own:
        return None
    old = rng.choice(own)
    low = sentence.lower()
    others = [e for e in pool if e.lower() not in low and old.lower() not in e.lower() and e.lower() not in old.lower()]
    if not others:
        return None
    return sentence.replace(old, rng.choice(others), 1)


_QA = [
    (re.compile(r"^(?:What|Which|Who)\s+(is|was|are|were)\s+(the\s+.+?)\?$"), "{rest} {verb} {answer}."),
    (re.compile(r"^Who\s+(\w+ed)\s+(.+?)\?$"), "{answer} {verb} {rest}."),
    (re.compile(r"^When\s+(was|were)\s+(.+?)\s+(\w+ed)\?$"), "{rest} {verb} {tail} in {answer}."),
]
_BAD_END = ("called", "named", "known as", "for", "in", "of", "to", "by", "with", "from", "on", "at", "as")


def qa_statement(question: str, answer: str) -> str | None:
    """A question and its gold answer as one declarative sentence, the way models often answer."""
    q = question.strip()
    for pattern, template in _QA:
        m = pattern.match(q)
        if not m:
            continue
        if "{tail}" in template:
            if not re.match(r"^(?:\d{3,4}|(?:in |on )?[A-Z][a-z]+ \d)", answer):
                return None
            verb, rest, tail = m.groups()
            out = template.format(rest=rest, verb=verb, tail=tail, answer=answer)
        else:
            verb, rest = m.groups()
            if rest.endswith(_BAD_END):
                return None
            out = template.format(rest=rest, verb=verb, answer=answer)
        return out[0].upper() + out[1:]
    return None
