"""Text analysis for the keyword index: the same function runs at index time and at query time, in every store.

Lower-case, split into letter/digit runs, drop English stop words, Snowball-stem (PyStemmer). Keeping analysis in
Python rather than in a database tokenizer is what lets the SQLite and PostgreSQL stores rank identically.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# A common English stop-word list (function words only; negations are kept because they change meaning).
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself of off on once only or other
    our ours ourselves out over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer("english")
    stemmer.maxCacheSize = 100_000
    return stemmer


def analyze(text: str) -> list[str]:
    """Index terms of ``text`` in order (duplicates kept: term frequency matters)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return list(_stemmer().stemWords(words))


def query_terms(text: str) -> list[str]:
    """Distinct index terms of a query, in first-occurrence order."""
    return list(dict.fromkeys(analyze(text)))
