"""The sandboxed ingest subprocess, driven by a queue worker: the same ``ragwright.interfaces.http.worker`` process the
embedded mode uses (parsing under memory and CPU limits, one task at a time, JSON lines), kept alive across jobs and
restarted when it dies.

A job ends with its ``done`` or ``failed`` event; when the subprocess dies instead (a parser crash, the memory cap),
:meth:`IngestChild.run` raises :class:`ChildDied`; when ``should_stop`` turns true (a cancellation) the subprocess is
killed, which rolls back the document it was writing, and :class:`ChildStopped` is raised. If the worker that drives
it is killed, the subprocess notices within 0.2 s (it watches its parent) and exits.

Example::

    child = IngestChild(settings)
    final = child.run(task, on_event=print, should_stop=lambda: False)   # {"event": "done", "summary": {...}}
    child.close()
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from ragwright.config import Settings
from ragwright.interfaces.http.worker import spawn

__all__ = ["ChildDied", "ChildStopped", "IngestChild"]


class ChildDied(Exception):
    """The ingest subprocess exited in the middle of a job."""


class ChildStopped(Exception):
    """The job was stopped on request (the subprocess was killed)."""


class IngestChild:
    """One ingest subprocess at a time, started on first use and after each death."""

    def __init__(self, settings: Settings, poll: float = 0.2) -> None:
        self._settings_json = json.dumps(settings.model_dump(mode="json"))
        self._poll = poll
        self._proc: subprocess.Popen[str] | None = None
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def run(
        self,
        task: dict[str, Any],
        on_event: Callable[[dict[str, Any]], None],
        should_stop: Callable[[], bool],
    ) -> dict[str, Any]:
        """Run one task; its final event (``done`` or ``failed``). Other events go to ``on_event`` as they come."""
        proc = self._started()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(task) + "\n")
            proc.stdin.flush()
        except OSError:
            pass  # it just died: the reader reports the end
        while True:
            try:
                event = self._events.get(timeout=self._poll)
            except queue.Empty:
                if should_stop():
                    self._kill()
                    raise ChildStopped from None
                continue
            if event is None:
                code = proc.wait()
                self._proc = None
                raise ChildDied(f"the ingest subprocess exited unexpectedly (exit code {code})")
            if event.get("event") in ("done", "failed"):
                return event
            on_event(event)
            if should_stop():
                self._kill()
                raise ChildStopped

    def _started(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._events = queue.Queue()
            self._proc = spawn(self._settings_json)
            threading.Thread(target=self._read, args=(self._proc, self._events), daemon=True).start()
        return self._proc

    @staticmethod
    def _read(proc: subprocess.Popen[str], events: queue.Queue[dict[str, Any] | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                events.put(json.loads(line))
            except ValueError:
                continue
        events.put(None)

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def close(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
