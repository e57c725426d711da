"""Secrets out of text that leaves the process: error messages, log lines, ledger rows.

Upstream providers echo what they were sent (``Incorrect API key provided: Bearer sk-...``), and their error text
travels on in ragwright's errors, the responses of both OpenAI-compatible front ends, the usage ledger and logs.
:func:`redact` is the one function every such boundary applies. It removes

- every secret value ragwright resolved from a reference (``env:VAR``, ``file:PATH``: the configured provider keys),
  registered by :func:`ragwright.secret_refs.resolve_secret` through :func:`remember_secret`;
- bearer / basic credentials, ``x-api-key``-style ``key: value`` pairs and ``?key=`` URL parameters;
- strings shaped like API keys: ``sk-...`` (OpenAI, Anthropic ``sk-ant-...``), ``rw_...`` (ragwright's own keys),
  ``AKIA...`` (AWS), ``ghp_...`` / ``github_pat_...``, ``xox?-...`` (Slack).

:func:`quote_id` is how an id a client sent appears in an error message (a 404's "no job '...'"): bounded, cleaned
and redacted, so asking for a missing id cannot put a line break, markup or a long string into a response or a log.

Example::

    remember_secret(api_key)
    log.warning("upstream said: %s", redact(message))
    raise TraceNotFound(f"no trace {quote_id(trace_id)}")
"""

from __future__ import annotations

import re
import threading

__all__ = ["REDACTED", "quote_id", "redact", "remember_secret"]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
ID_CHARS = 64
"""How much of a client's id an error message shows."""
_ID_PUNCTUATION = frozenset("._-/:@ ")
"""Shorter values are not remembered: replacing every 'abc' in a message would hide more than it protects."""

_PATTERNS = (
    # credentials after a scheme or a key-like name: keep the name, drop the value
    re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;}]{6,}"),
    re.compile(
        r"(?i)\b((?:x-)?api[-_]?key|authorization|access[-_]?token|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;}&]+"
    ),
    re.compile(r"(?i)([?&](?:api[-_]?)?key)(=)[^&\s\"']+"),
    # key-shaped strings wherever they are
    re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\brw_[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\b(?:ghp|gho|ghs|ghu)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abpors]-[A-Za-z0-9-]{10,}"),
)

_known: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Redact ``value`` from now on wherever it appears (a resolved provider key, for instance)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """``text`` with every secret it contains replaced by ``[redacted]``."""
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):  # longest first: a key never leaves a suffix behind
        if value in text:
            text = text.replace(value, REDACTED)
    for i, pattern in enumerate(_PATTERNS):
        text = pattern.sub(_keep_name if i < 3 else REDACTED, text)
    return text


def _keep_name(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def quote_id(value: str, limit: int = ID_CHARS) -> str:
    """``value`` (an id from a client) as an error message may show it: quoted, its first ``limit`` characters (then
    ``…``), letters, digits and ``. _ - / : @`` and spaces kept and anything else ``?``, secrets redacted."""
    kept = "".join(ch if ch.isalnum() or ch in _ID_PUNCTUATION else "?" for ch in value[:limit])
    return f"'{redact(kept)}{'…' if len(value) > limit else ''}'"
