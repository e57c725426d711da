"""The ingest worker process: runs ingest jobs (HTTP uploads and MCP ``ingest`` calls) one at a time, away from
every server process.

Untrusted files are parsed only here, under limits (:mod:`ragwright.ingest.limits`): an address-space cap for the
process (``ingest.worker_memory_mb``), a CPU budget per file (``ingest.parse_cpu_seconds``) and a wall-clock backstop;
zip-based formats also pass the archive guard. PDF parsing (PDFium) is not thread-safe and ingest writes must be
serialised, so the servers never ingest themselves. They start ``python -m ragwright.interfaces.http.worker`` and talk
to it in JSON lines: the first line on stdin is the settings, then one task per line ``{"job_id", "tenant",
"job_dir", "files", "tags", "key_tags", "api_tenant", "kb"}`` (``kb`` of ``api_tenant`` is registered before the
first document is written, so ``GET /v1/models`` lists it even if the job dies half-way). ``key_tags``
are the submitting key's tag limits: each document is checked against them as it will be stored (front matter
included) just before it is written (:class:`ragwright.service.access.TagScope`); a refused one fails with its
reason. The worker answers on stdout:

- ``{"event": "start", "job_id"}``; ``{"event": "plan", "job_id", "existing": {file: stored hash or null}}``;
  ``{"event": "progress", "job_id", "files_done", "files_total", "chunks"}``;
- ``{"event": "done", "job_id", "summary"}`` with :meth:`IngestReport.summary` (per-file reasons for failed files);
- ``{"event": "failed", "job_id", "message"}`` when the whole job failed.

End of stdin stops it. Anything a library prints goes to stderr, so stdout carries only these lines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ragwright.ingest.limits import ParseLimits, limit_memory, parse_budget


def spawn(settings_json: str) -> subprocess.Popen[str]:
    """Start a worker process and hand it the settings (its first line); tasks follow one per line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragwright.interfaces.http.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        bufsize=1,
    )
    assert proc.stdin is not None
    proc.stdin.write(settings_json + "\n")
    return proc


def _send(out: TextIO, **event: Any) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def _load(task: dict[str, Any], max_bytes: int, limits: ParseLimits, failures: list[Any]) -> Iterator[Any]:
    """Each uploaded file as a Document whose id is its file name, parsed under ``limits``; failures get a reason."""
    from ragwright.documents.loaders import load_file
    from ragwright.errors import IngestError
    from ragwright.ingest.pipeline import FileOutcome

    job_dir, tags = Path(task["job_dir"]), tuple(task["tags"])
    for name in task["files"]:
        try:
            with parse_budget(name, limits):
                doc = load_file(job_dir / name, name, max_bytes=max_bytes, tags=tags)
            yield doc
        except IngestError as err:
            failures.append(FileOutcome(name, "failed", reason=err.reason))
        except OSError as err:
            failures.append(FileOutcome(name, "failed", reason=f"cannot read: {err.strerror}"))
        except Exception as err:  # a parser bug on a strange file must not stop the job
            failures.append(FileOutcome(name, "failed", reason=f"could not parse ({type(err).__name__})"))


def _register_kb(settings: Any, task: dict[str, Any]) -> None:
    """List the job's knowledge base (``GET /v1/models``) before the first document lands in it."""
    from ragwright.service.kbs import open_knowledge_bases

    if "api_tenant" not in task or "kb" not in task:
        return
    registry = open_knowledge_bases(settings)
    try:
        registry.add(task["api_tenant"], task["kb"])
    finally:
        registry.close()


def _plan(rw: Any, task: dict[str, Any]) -> dict[str, str | None]:
    """Each file's stored content hash before this job writes anything (None: new), for crash reconciliation."""
    out: dict[str, str | None] = {}
    for name in task["files"]:
        info = rw.store.document(task["tenant"], name)
        out[name] = None if info is None else info.content_hash
    return out


def _die_with_parent(parent: int, every: float = 0.2) -> None:
    """Exit as soon as the server that started this worker is gone (we are re-parented), so an orphan never goes on
    writing documents its dead server will not report. Polling ``getppid`` rather than ``PR_SET_PDEATHSIG``: the
    death signal fires when the *thread* that forked exits, and servers start workers from short-lived threads (a
    request's, the previous worker's reader), which would kill healthy workers; polling is also portable."""
    while True:
        time.sleep(every)
        if os.getppid() != parent:
            os._exit(70)


def run(inp: TextIO, out: TextIO) -> None:
    from ragwright.app import Ragwright
    from ragwright.config import Settings
    from ragwright.errors import RagwrightError
    from ragwright.ingest.pipeline import Ingestor, Progress
    from ragwright.service.access import TagScope

    settings = Settings(**json.loads(inp.readline()))
    max_bytes = int(settings.ingest.max_file_mb * 2**20)
    limits = ParseLimits.from_settings(settings)
    limit_memory(limits)
    rw = Ragwright(settings)
    try:
        for line in inp:
            if not line.strip():
                continue
            task = json.loads(line)
            job_id = task["job_id"]
            _send(out, event="start", job_id=job_id)
            last = 0.0

            def on_progress(p: Progress, job_id: str = job_id) -> None:
                nonlocal last
                now = time.monotonic()
                if now - last >= 0.2 or p.files_done == p.files_total:
                    last = now
                    _send(
                        out,
                        event="progress",
                        job_id=job_id,
                        files_done=p.files_done,
                        files_total=p.files_total,
                        chunks=p.chunks_embedded,
                    )

            try:
                failures: list[Any] = []
                _send(out, event="plan", job_id=job_id, existing=_plan(rw, task))
                _register_kb(settings, task)
                docs = _load(task, max_bytes, limits, failures)
                ingestor = Ingestor(rw.store, rw.embedder, settings, on_progress)
                scope = TagScope(tuple(task["key_tags"]))
                report = ingestor.ingest_documents(
                    docs, tenant=task["tenant"], total=len(task["files"]), guard=scope.guard
                )
                report.outcomes.extend(failures)
                _send(out, event="done", job_id=job_id, summary=report.summary())
            except RagwrightError as exc:
                _send(out, event="failed", job_id=job_id, message=str(exc))
            except Exception as exc:  # a bug must fail the job, not the worker
                _send(out, event="failed", job_id=job_id, message=f"internal error: {type(exc).__name__}")
            # the upload stays until the server has read the outcome: the server removes it when the job ends
    finally:
        rw.close()


def main() -> None:
    # Ctrl-C in a terminal (and systemd's stop) signals the whole process group; the server, or `ragwright worker`,
    # ends this process by closing stdin instead, after its own graceful stop, and it exits if they die
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints from libraries go to stderr, not into the protocol
    sys.stdout = sys.stderr
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    run(sys.stdin, protocol)


if __name__ == "__main__":
    main()
