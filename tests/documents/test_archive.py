"""Zip bombs against the DOCX loader: built at run time, parsed in a child process under a 1.5 GiB address-space limit
(so a loader that inflates the bomb fails the test with a MemoryError instead of taking the machine's memory)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ragwright.testing.bombs import docx_bomb, plain_docx

_CHILD = """
import json, sys
from pathlib import Path
from ragwright.documents.loaders import load_file
try:
    doc = load_file(Path(sys.argv[1]), "x.docx", max_bytes=50 * 2**20)
    out = {"error": None, "text": doc.text[:40]}
except BaseException as exc:
    out = {"error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
           "reason": getattr(exc, "reason", str(exc)), "limit": getattr(exc, "limit", None)}
# the peak of this process's own memory since exec (VmHWM): ru_maxrss would carry the forking pytest worker's
with open("/proc/self/status") as status:
    out["maxrss_mb"] = int(next(l for l in status if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps(out))
"""


def _load_in_child(path: Path) -> dict[str, object]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**29, 3 * 2**29))

    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=120, preexec_fn=limit
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_valid_docx_passes_the_guard(tmp_path: Path) -> None:
    path = tmp_path / "ok.docx"
    path.write_bytes(plain_docx("Kettles are descaled monthly."))
    out = _load_in_child(path)
    assert out["error"] is None and "Kettles" in str(out["text"])


@pytest.mark.slow
def test_docx_bomb_is_refused_with_a_typed_error_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(docx_bomb(512 * 2**20))
    assert path.stat().st_size < 2 * 2**20
    out = _load_in_child(path)
    assert out["error"] == "ArchiveLimitError", out
    assert "IngestError" in out["mro"]  # type: ignore[operator]
    assert out["limit"] == "entry_bytes" and "inflates" in str(out["reason"])
    assert float(out["maxrss_mb"]) < 300  # type: ignore[arg-type]


def test_headers_that_understate_the_size_are_caught_while_inflating(tmp_path: Path) -> None:
    path = tmp_path / "liar.docx"
    path.write_bytes(docx_bomb(80 * 2**20, declared=1_000))
    out = _load_in_child(path)
    assert out["error"] == "ArchiveLimitError", out
    assert out["limit"] == "declared_size"
    assert float(out["maxrss_mb"]) < 300  # type: ignore[arg-type]


def test_too_many_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    path.write_bytes(docx_bomb(10_000, extra_entries=12_000))
    out = _load_in_child(path)
    assert out["error"] == "ArchiveLimitError", out
    assert out["limit"] == "entries" and "12," in str(out["reason"])
