"""Every input the loader fuzzer (bench/fuzz_loaders.py) once broke a loader with now gives a Document or a typed
IngestError, parsed in a child process under the ingest worker's limits (as the worker would)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).parent / "fuzz_cases"
_CHILD = """
import json, sys
from pathlib import Path
from ragwright.config import Settings
from ragwright.documents.loaders import load_file
from ragwright.errors import IngestError
from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget
limits = ParseLimits.from_settings(Settings())
limit_memory(limits)
out = {}
for path in map(Path, sys.argv[1:]):
    try:
        with parse_budget(path.name, limits):
            load_file(path, path.name, max_bytes=50 * 2**20)
        out[path.name] = "ok"
    except IngestError as err:
        out[path.name] = "typed:" + type(err).__name__
    except Exception as exc:
        out[path.name] = "crash:" + type(exc).__name__
print(json.dumps(out))
"""


def test_every_fuzz_case_gives_a_document_or_a_typed_error() -> None:
    cases = sorted(p for p in CASES.iterdir() if p.suffix != ".md")
    assert cases, "no fuzz cases"
    proc = subprocess.run([sys.executable, "-c", _CHILD, *map(str, cases)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcomes = json.loads(proc.stdout)
    assert set(outcomes) == {p.name for p in cases}
    crashes = {name: o for name, o in outcomes.items() if not (o == "ok" or o.startswith("typed:"))}
    assert not crashes
