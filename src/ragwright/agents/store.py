"""Agent runs persisted in SQLite, so a paused run resumes after a restart and no tool call runs twice.

Two tables, created through the project's one migration mechanism: ``agent_runs`` (one row per run: who it acts
for, its status, limits, usage and the conversation so far) and ``agent_calls`` (one row per tool call, keyed by its
idempotency key ``run_id:call_id``). A call's row is written with status ``dispatched`` and committed *before* the
tool runs; :meth:`RunStore.recover` turns every such row left by a dead process into ``unknown`` and its run into
``awaiting_approval``, so a human says what happened instead of the call running again. A run records the process
driving it (pid and start time), so recovery in one server process never touches a run another live one drives.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragwright.agents.records import CallRecord, CallStatus, RunLimits, RunStatus, RunUsage, StopReason
from ragwright.gateway.types import Message, ToolCall
from ragwright.processes import alive
from ragwright.service.keys import ApiKey
from ragwright.service.sqlite_file import open_service_db
from ragwright.sqlite_migrations import Schema

__all__ = ["SCHEMA", "RunState", "RunStore", "message_from_dict", "message_to_dict"]

SCHEMA = Schema("agents")


@SCHEMA.migration
def m001_agent_runs(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS agent_runs (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_id TEXT, "
        "status TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS agent_calls (idempotency_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
        "seq INTEGER NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, updated_at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS agent_calls_run ON agent_calls (run_id, seq)")


def message_to_dict(m: Message) -> dict[str, Any]:
    return {
        "role": m.role,
        "content": m.content,
        "tool_calls": [[c.id, c.name, c.arguments] for c in m.tool_calls],
        "tool_call_id": m.tool_call_id,
        "name": m.name,
    }


def message_from_dict(d: dict[str, Any]) -> Message:
    calls = tuple(ToolCall(i, n, a) for i, n, a in d.get("tool_calls", ()))
    return Message(d["role"], d.get("content"), calls, d.get("tool_call_id"), d.get("name"))


@dataclass
class RunState:
    """Everything needed to go on with a run: who, what, the conversation, limits and usage so far."""

    id: str
    task: str
    model: str
    key: ApiKey
    """The caller's key as it was when the run started: every tool call acts with its tenant, scopes and tags."""
    kb: str
    tools: list[str]
    approve: str
    """``ask`` (pause on calls that need approval), ``all`` (approve them all), ``none`` (deny them all)."""
    limits: RunLimits
    status: RunStatus = RunStatus.RUNNING
    usage: RunUsage = field(default_factory=RunUsage)
    messages: list[Message] = field(default_factory=list)
    answer: str | None = None
    cited_answer: str | None = None
    """The answer with ``[n]`` after each sentence a tool's output supports (None: no tool returned passages)."""
    citations: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    """Sentences of the answer that no tool output supports (kept in the answer, flagged here)."""
    stop_reason: StopReason | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    owner: tuple[int, float | None] | None = None
    """The process (pid, start time) driving the run while it is ``running``: recovery leaves live owners alone."""

    @property
    def tenant(self) -> str:
        return self.key.tenant

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "model": self.model,
            "tenant": self.tenant,
            "key": self.key.to_dict(),
            "kb": self.kb,
            "tools": self.tools,
            "approve": self.approve,
            "limits": {f: getattr(self.limits, f) for f in RunLimits.__dataclass_fields__},
            "status": self.status.value,
            "usage": {f: getattr(self.usage, f) for f in RunUsage.__dataclass_fields__},
            "messages": [message_to_dict(m) for m in self.messages],
            "answer": self.answer,
            "cited_answer": self.cited_answer,
            "citations": self.citations,
            "unsupported": self.unsupported,
            "stop_reason": self.stop_reason.value if self.stop_reason else None,
            "error": self.error,
            "created_at": self.created_at,
            "owner": list(self.owner) if self.owner else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunState:
        return cls(
            id=d["id"],
            task=d["task"],
            model=d["model"],
            key=_key(d["key"]),
            kb=d["kb"],
            tools=list(d["tools"]),
            approve=d["approve"],
            limits=RunLimits(**d["limits"]),
            status=RunStatus(d["status"]),
            usage=RunUsage(**d["usage"]),
            messages=[message_from_dict(m) for m in d["messages"]],
            answer=d["answer"],
            cited_answer=d.get("cited_answer"),
            citations=list(d.get("citations") or []),
            unsupported=list(d.get("unsupported") or []),
            stop_reason=StopReason(d["stop_reason"]) if d["stop_reason"] else None,
            error=d["error"],
            created_at=d["created_at"],
            owner=(d["owner"][0], d["owner"][1]) if d.get("owner") else None,
        )


def _key(d: dict[str, Any]) -> ApiKey:
    return ApiKey(
        d["key_id"], d["tenant"], frozenset(d["scopes"]), tuple(d["tags"]), d["name"], d["created_at"], d["revoked"]
    )


def _call(data: str) -> CallRecord:
    d = json.loads(data)
    d["status"] = CallStatus(d["status"])
    return CallRecord(**d)


class RunStore:
    """Runs and their tool calls in one SQLite file (``agents.sqlite`` beside the index), shared by processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_service_db(self.path, SCHEMA)

    def put_run(self, run: RunState) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO agent_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id,
                    run.tenant,
                    run.key.key_id,
                    run.status.value,
                    json.dumps(run.to_dict()),
                    run.created_at,
                    time.time(),
                ),
            )

    def claim(self, run_id: str, owner: tuple[int, float | None]) -> bool:
        """Move a paused run to ``running`` for ``owner`` if it is still paused (compare-and-set on the row), so of two
        approvals that arrive together exactly one resumes the run."""
        with self._lock:
            row = self._db.execute("SELECT data FROM agent_runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return False
            run = RunState.from_dict(json.loads(row[0]))
            if run.status is not RunStatus.AWAITING_APPROVAL:
                return False
            run.status, run.owner = RunStatus.RUNNING, owner
            cur = self._db.execute(
                "UPDATE agent_runs SET status = ?, data = ?, updated_at = ? WHERE id = ? AND status = ?",
                (run.status.value, json.dumps(run.to_dict()), time.time(), run_id, RunStatus.AWAITING_APPROVAL.value),
            )
            return cur.rowcount == 1

    def get_run(self, run_id: str, tenant: str | None = None) -> RunState | None:
        """The run, or None when it does not exist or (with ``tenant``) belongs to another tenant."""
        with self._lock:
            row = self._db.execute("SELECT tenant, data FROM agent_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or (tenant is not None and row[0] != tenant):
            return None
        return RunState.from_dict(json.loads(row[1]))

    def list_runs(self, tenant: str, limit: int = 50, status: RunStatus | None = None) -> list[RunState]:
        """The tenant's newest runs (of one ``status`` when given)."""
        where, args = (
            ("tenant = ?", [tenant]) if status is None else ("tenant = ? AND status = ?", [tenant, status.value])
        )
        with self._lock:
            rows = self._db.execute(
                f"SELECT data FROM agent_runs WHERE {where} ORDER BY created_at DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [RunState.from_dict(json.loads(r[0])) for r in rows]

    def put_call(self, call: CallRecord, seq: int | None = None) -> None:
        """Write the call's row and commit it (autocommit), before anything else happens to the call."""
        with self._lock:
            if seq is None:
                row = self._db.execute(
                    "SELECT seq FROM agent_calls WHERE idempotency_key = ?", (call.idempotency_key,)
                ).fetchone()
                seq = row[0] if row else self._next_seq(call.run_id)
            self._db.execute(
                "INSERT OR REPLACE INTO agent_calls VALUES (?, ?, ?, ?, ?, ?)",
                (
                    call.idempotency_key,
                    call.run_id,
                    seq,
                    call.status.value,
                    json.dumps(call.to_dict()),
                    time.time(),
                ),
            )

    def _next_seq(self, run_id: str) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM agent_calls WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0]) + 1

    def get_call(self, run_id: str, call_id: str) -> CallRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM agent_calls WHERE idempotency_key = ?", (f"{run_id}:{call_id}",)
            ).fetchone()
        return None if row is None else _call(row[0])

    def calls(self, run_id: str) -> list[CallRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM agent_calls WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return [_call(r[0]) for r in rows]

    def recover(self) -> list[str]:
        """After a crash: calls left ``dispatched`` become ``unknown`` and their runs ``awaiting_approval``; runs left
        ``running`` with no such call are also paused, for a human to resume. Returns the ids of the runs changed."""
        changed: list[str] = []
        with self._lock:
            rows = self._db.execute("SELECT id FROM agent_runs WHERE status = ?", (RunStatus.RUNNING.value,)).fetchall()
        for (run_id,) in rows:
            run = self.get_run(run_id)
            if run is None or (run.owner is not None and alive(*run.owner)):
                continue  # another live process is driving it
            for call in self.calls(run_id):
                if call.status is CallStatus.DISPATCHED:
                    call.status = CallStatus.UNKNOWN
                    call.error = "the process running this call stopped before its outcome was recorded"
                    self.put_call(call)
            run.status, run.owner = RunStatus.AWAITING_APPROVAL, None
            self.put_run(run)
            changed.append(run_id)
        return changed

    def close(self) -> None:
        with self._lock:
            self._db.close()
