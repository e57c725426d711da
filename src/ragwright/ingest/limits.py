"""Resource limits for parsing untrusted files, applied inside the ingest worker process (never a server process).

- **Memory**: :func:`limit_memory` caps the process's address space (``RLIMIT_AS``) once, at worker start; an
  allocation past it fails with ``MemoryError`` inside the parser, which :func:`parse_budget` reports as a typed
  :class:`~ragwright.errors.ResourceLimitError` and the worker lives on.
- **CPU**: :func:`parse_budget` moves the soft ``RLIMIT_CPU`` to "now + ``cpu_seconds``" for one parse; the kernel's
  ``SIGXCPU`` becomes a ``ResourceLimitError`` raised in the parsing thread, and the limit is lifted afterwards.
- **Hang backstop**: a parser stuck in C code that holds the GIL never lets a Python signal handler run, so
  ``faulthandler``'s watchdog (a C thread) ends the process after ``wall_seconds``; the job then reports the worker's
  exit, and what was committed before (see ``interfaces/http/jobs.py``).

Example (what the worker does for every file)::

    limit_memory(limits)
    with parse_budget("report.docx", limits):
        doc = load_file(path, "report.docx", max_bytes=...)
"""

from __future__ import annotations

import faulthandler
import resource
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from ragwright.config import Settings
from ragwright.errors import ResourceLimitError

__all__ = ["ParseLimits", "limit_memory", "parse_budget"]


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much one ingest worker may use: address space for the whole process, CPU and wall time per parse."""

    memory_bytes: int
    cpu_seconds: int
    wall_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        ingest = settings.ingest
        return cls(
            memory_bytes=int(ingest.worker_memory_mb * 2**20),
            cpu_seconds=ingest.parse_cpu_seconds,
            wall_seconds=3.0 * ingest.parse_cpu_seconds + 10.0,
        )


class _CpuExceeded(Exception):
    """Raised by the SIGXCPU handler; turned into a ResourceLimitError naming the file."""


def _on_xcpu(signum: int, frame: FrameType | None) -> None:
    raise _CpuExceeded


def limit_memory(limits: ParseLimits) -> None:
    """Cap this process's address space (Linux and macOS; a no-op where the platform refuses)."""
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = limits.memory_bytes if hard == resource.RLIM_INFINITY else min(limits.memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        pass


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def parse_budget(source: str, limits: ParseLimits) -> Iterator[None]:
    """Run one parse under the CPU budget and the wall-clock backstop; memory and CPU overruns become
    :class:`ResourceLimitError`. Main thread only (signal handlers live there)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    budget = int(_cpu_used()) + 1 + limits.cpu_seconds
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    previous = signal.signal(signal.SIGXCPU, _on_xcpu)
    resource.setrlimit(resource.RLIMIT_CPU, (budget, hard))
    faulthandler.dump_traceback_later(limits.wall_seconds, exit=True, file=sys.stderr)
    try:
        yield
    except _CpuExceeded:
        raise ResourceLimitError(
            source, "cpu", f"parsing took over {limits.cpu_seconds} s of CPU (ingest.parse_cpu_seconds)"
        ) from None
    except MemoryError:
        raise ResourceLimitError(
            source, "memory", f"parsing needed over {limits.memory_bytes // 2**20} MB (ingest.worker_memory_mb)"
        ) from None
    finally:
        faulthandler.cancel_dump_traceback_later()
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        signal.signal(signal.SIGXCPU, previous)
