"""The semantic cache's guard: two questions close in embedding space may still ask opposite things.

Embeddings place "Is X supported?" next to "Is X not supported?" and "a 2 GB limit" next to "a 4 GB limit". A
semantic hit is refused unless both questions carry the same number of negations and the same numbers.

Example::

    same_meaning_markers("Is SSO supported?", "Is SSO not supported?")   # False
    same_meaning_markers("Max upload is 2 GB?", "max upload is 2GB?")     # True
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")
_NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "nowhere",
        "without",
        "cannot",
        "unsupported",
        "disallowed",
        "forbidden",
        "prohibited",
    }
)
_NUMBER_WORDS: dict[str, float] = {
    w: float(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update(
    {
        "thirty": 30,
        "forty": 40,
        "fifty": 50,
        "hundred": 100,
        "thousand": 1000,
        "million": 1_000_000,
        "billion": 1_000_000_000,
        "half": 0.5,
        "once": 1,
        "twice": 2,
    }
)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def negations(text: str) -> int:
    """How many negating words ``text`` holds (contractions such as "isn't" count)."""
    return sum(1 for t in _tokens(text) if t in _NEGATIONS or t.endswith("n't"))


def numbers(text: str) -> list[float]:
    """The numbers in ``text``, digits or words, sorted ("1,000" and "1000" are the same number)."""
    found: list[float] = []
    for token in _tokens(text):
        if token[0].isdigit():
            cleaned = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", token) else token.replace(",", ".")
            try:
                found.append(float(cleaned))
            except ValueError:
                continue
        elif token in _NUMBER_WORDS:
            found.append(float(_NUMBER_WORDS[token]))
    return sorted(found)


def same_meaning_markers(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` agree on negation and numbers, so one's cached answer may serve the other."""
    return negations(a) == negations(b) and numbers(a) == numbers(b)
