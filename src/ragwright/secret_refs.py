"""Secret references (``env:VAR``, ``file:PATH``): how every configured secret is read, when it is first used.

The configuration holds references, never secrets: API keys of providers and remote embedders, the Redis URL with its
password, a collector's headers. :func:`resolve_secret` reads one and remembers the value for
:func:`ragwright.redact.redact`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ragwright.errors import SecretMissing
from ragwright.redact import remember_secret

__all__ = ["resolve_secret"]


def resolve_secret(ref: str | None) -> str | None:
    """The value behind a secret reference: ``env:VAR`` reads the environment, ``file:PATH`` reads a file (stripped).

    Called when a provider is first used, never at import or settings load. The value is remembered for
    :func:`ragwright.redact.redact`, so it never appears in an error, a log line or a ledger row. A missing variable
    or file is a :class:`~ragwright.errors.SecretMissing` naming the reference, never the value.
    """
    if ref is None:
        return None
    kind, _, where = ref.partition(":")
    if kind == "env":
        value = os.environ.get(where)
        if not value:
            raise SecretMissing(f"secret {ref} is not set: export {where}=...", ref=ref)
        remember_secret(value)
        return value
    if kind == "file":
        try:
            value = Path(where).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretMissing(f"secret {ref} cannot be read: {exc.strerror}", ref=ref) from None
        remember_secret(value)
        return value
    raise SecretMissing(f"secret reference {ref!r} must be env:VAR or file:PATH", ref=ref)
