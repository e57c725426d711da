"""The policies package exports every policy lazily: importing it loads neither limits nor numpy."""

from __future__ import annotations

import subprocess
import sys

import ragwright.gateway.policies as policies


def test_every_exported_name_resolves() -> None:
    for name in policies.__all__:
        assert getattr(policies, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, ragwright.gateway.policies; "
        "print(','.join(m for m in ('limits', 'numpy', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
