"""The ingest worker's resource limits: address space per process, CPU per parse, typed errors when exceeded."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

_CHILD = """
import json, sys, time
from ragwright.errors import ResourceLimitError
from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget
limits = ParseLimits(memory_bytes=512 * 2**20, cpu_seconds=1, wall_seconds=60)
limit_memory(limits)
out = []
for what in ("memory", "cpu"):
    try:
        with parse_budget("hostile." + what, limits):
            if what == "memory":
                hog = bytearray(2**30)
            else:
                while True:
                    pass
    except ResourceLimitError as err:
        out.append([err.limit, err.path, err.reason])
with parse_budget("fine.md", limits):   # the process lives on and parses the next file normally
    out.append(sum(range(1000)))
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and RLIMIT_CPU semantics")
def test_memory_and_cpu_overruns_become_typed_errors_and_the_process_lives_on() -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    memory, cpu, fine = json.loads(proc.stdout)
    assert memory[:2] == ["memory", "hostile.memory"] and "worker_memory_mb" in memory[2]
    assert cpu[:2] == ["cpu", "hostile.cpu"] and "parse_cpu_seconds" in cpu[2]
    assert fine == 499500
    assert time.monotonic() - started < 50
