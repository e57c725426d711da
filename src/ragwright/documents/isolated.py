"""Work on an untrusted stored file in a child process under the ingest parse limits, for the servers.

The servers never parse a document themselves (docs/security.md): what a citation viewer needs from a stored original
(a PDF's highlight rectangles, a Markdown file rendered with the span marked) is computed by
``python -m <module>`` whose ``main`` calls :func:`serve_one`. The child caps its address space and CPU time like
the ingest worker (:mod:`ragwright.ingest.limits`), reads one JSON header line and the file's bytes from stdin, and
prints one JSON object; the parent (:func:`run_isolated`) gives it a wall-clock timeout, and any failure of the child
becomes a typed :class:`~ragwright.errors.IngestError` with a one-line reason.

Example::

    out = run_isolated("ragwright.documents.pdf_marks", "cited PDF", {"spans": [[1, 0, 40]]}, data, limits)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from ragwright.errors import CorruptFileError, ResourceLimitError
from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget

__all__ = ["run_isolated", "serve_one"]


def serve_one(what: str, work: Callable[[bytes, dict[str, Any]], dict[str, Any]]) -> None:
    """The child's side: read the request, run ``work(data, header)`` under the limits, print its JSON result (or
    ``{"error": reason}``)."""
    header = json.loads(sys.stdin.buffer.readline())
    limits = ParseLimits(header["memory_bytes"], header["cpu_seconds"], header["wall_seconds"])
    limit_memory(limits)
    data = sys.stdin.buffer.read()
    try:
        with parse_budget(what, limits):
            out = work(data, header)
    except ResourceLimitError as err:
        out = {"error": err.reason}
    except Exception as err:  # a parser failure on a strange file: reported, never a traceback to the caller
        out = {"error": f"could not read the file ({type(err).__name__})"}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


def run_isolated(module: str, what: str, header: dict[str, Any], data: bytes, limits: ParseLimits) -> dict[str, Any]:
    """Run ``python -m module`` on ``data`` under ``limits`` and return its JSON result (blocking)."""
    request = {
        **header,
        "memory_bytes": limits.memory_bytes,
        "cpu_seconds": limits.cpu_seconds,
        "wall_seconds": limits.wall_seconds,
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", module],
            input=json.dumps(request).encode() + b"\n" + data,
            capture_output=True,
            timeout=limits.wall_seconds + 5.0,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResourceLimitError(what, "time", "took too long to read") from None
    try:
        out = json.loads(proc.stdout or b"{}")
    except ValueError:
        out = {}
    if not isinstance(out, dict) or "error" in out or not out:
        reason = out.get("error") if isinstance(out, dict) else None
        raise CorruptFileError(what, str(reason or f"the reader exited with {proc.returncode}"))
    return out
