"""The injection suite with the answer-time guard switched off: how many cases the flagger alone would lose.

    python bench/injection_ablation.py

Runs ``tests/injection/test_injection_suite.py::test_injected_text_never_becomes_the_answer`` (40 cases, extractive
and obeying-model answerers) after replacing the guard's rules (flagged and keyword-stuffed passages left out,
answer sentences must add to the question, generated sentences need relevant support and must not echo) with
pass-throughs. Hidden text is still dropped at ingest and passages are still flagged; nothing else changes. Every
failing case is one where injected text became the answer without the guard.
"""

from __future__ import annotations

import sys

import pytest

from ragwright.answering import injection_guard as guard


def main() -> int:
    guard.screen = lambda question, hits: guard.Screened(hits=list(hits))  # type: ignore[assignment]
    guard.answerable = lambda question, scored: scored  # type: ignore[assignment]
    guard.relevant = lambda scored: scored  # type: ignore[assignment]
    guard.strip_echoes = lambda text, relevant, hits: (text, [])  # type: ignore[assignment]
    args = ["-q", "-p", "no:cacheprovider", "tests/injection/test_injection_suite.py", "-k", "never_becomes", "--tb=no"]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main())
