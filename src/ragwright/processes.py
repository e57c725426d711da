"""Which process owns a piece of work: a pid *and* its start time, so a recycled pid is not mistaken for the owner.

Used by ingest jobs (the server process running a job) and agent runs (the process driving a run): after a restart,
or in a container where a new process gets the old pid, work whose owner is gone is recognised as orphaned.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["alive", "process_start", "this_process"]


def process_start(pid: int) -> float | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return float(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int, start: float | None = None) -> bool:
    """Whether process ``pid`` runs, and is the one that started at ``start`` (when both are known)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        pass
    now = process_start(pid)
    if start is not None and now is not None and now != start:
        return False  # the pid was recycled
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def this_process() -> tuple[int, float | None]:
    """This process as an owner: (pid, start time)."""
    pid = os.getpid()
    return pid, process_start(pid)
