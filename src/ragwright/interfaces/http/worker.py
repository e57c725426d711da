"""The ingest worker process: runs upload ingest jobs one at a time, away from the server's threads.

PDF parsing (PDFium) is not thread-safe and ingest writes must be serialised, so the server never ingests itself. It
starts ``python -m ragwright.interfaces.http.worker`` and talks to it in JSON lines: the first line on stdin is the
settings, then one task per line ``{"job_id", "tenant", "job_dir", "files", "tags", "key_tags"}``. ``key_tags``
are the submitting key's tag limits: each document is checked against them as it will be stored (front matter
included) just before it is written (:class:`ragwright.service.access.TagScope`); a refused one fails with its
reason. The worker answers on stdout:

- ``{"event": "start", "job_id"}``; ``{"event": "progress", "job_id", "files_done", "files_total", "chunks"}``;
- ``{"event": "done", "job_id", "summary"}`` with :meth:`IngestReport.summary` (per-file reasons for failed files);
- ``{"event": "failed", "job_id", "message"}`` when the whole job failed.

End of stdin stops it. Anything a library prints goes to stderr, so stdout carries only these lines.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


def _send(out: TextIO, **event: Any) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def _load(job_dir: Path, files: list[str], tags: tuple[str, ...], max_bytes: int, failures: list[Any]) -> Iterator[Any]:
    """Each uploaded file as a Document whose id is its file name; failures get their reason."""
    from ragwright.documents.loaders import load_file
    from ragwright.errors import IngestError
    from ragwright.ingest.pipeline import FileOutcome

    for name in files:
        try:
            yield load_file(job_dir / name, name, max_bytes=max_bytes, tags=tags)
        except IngestError as err:
            failures.append(FileOutcome(name, "failed", reason=err.reason))
        except OSError as err:
            failures.append(FileOutcome(name, "failed", reason=f"cannot read: {err.strerror}"))
        except Exception as err:  # a parser bug on a strange file must not stop the job
            failures.append(FileOutcome(name, "failed", reason=f"could not parse ({type(err).__name__})"))


def run(inp: TextIO, out: TextIO) -> None:
    from ragwright.app import Ragwright
    from ragwright.config import Settings
    from ragwright.errors import RagwrightError
    from ragwright.ingest.pipeline import Ingestor, Progress
    from ragwright.service.access import TagScope

    settings = Settings(**json.loads(inp.readline()))
    max_bytes = int(settings.ingest.max_file_mb * 2**20)
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

            job_dir = Path(task["job_dir"])
            try:
                failures: list[Any] = []
                docs = _load(job_dir, task["files"], tuple(task["tags"]), max_bytes, failures)
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
            finally:
                shutil.rmtree(job_dir, ignore_errors=True)
    finally:
        rw.close()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the server ends this process by closing stdin instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints from libraries go to stderr, not into the protocol
    sys.stdout = sys.stderr
    run(sys.stdin, protocol)


if __name__ == "__main__":
    main()
