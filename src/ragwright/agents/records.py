"""What an agent run is made of: its limits, its status, its tool calls and the events it streams.

Plain dataclasses and enums, so the runner, the run store, the CLI, HTTP and MCP agree on one shape.

A run moves ``running`` -> ``done`` | ``stopped`` | ``failed``, or ``running`` -> ``awaiting_approval`` ->
``running`` ... when a tool call needs a human. A tool call moves ``pending_approval`` -> ``approved`` | ``denied``,
then ``approved`` -> ``dispatched`` -> ``done`` | ``failed``. ``dispatched`` is written *before* the tool runs: a
call found ``dispatched`` after a crash has an ``unknown`` outcome and is handed to a human, never run again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AgentEvent",
    "CallRecord",
    "CallStatus",
    "Decision",
    "RunLimits",
    "RunStatus",
    "RunUsage",
    "StopReason",
]


class RunStatus(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    DONE = "done"
    """The model gave a final answer."""
    STOPPED = "stopped"
    """A limit stopped it (``stop_reason`` says which)."""
    FAILED = "failed"
    """The model could not be called (the gateway's error is recorded)."""


class StopReason(StrEnum):
    """Which limit ended a run."""

    MAX_STEPS = "max_steps"
    MAX_TOOL_CALLS = "max_tool_calls"
    MAX_TOKENS = "max_tokens"
    MAX_USD = "max_usd"
    MAX_SECONDS = "max_seconds"
    REPEATED_CALL = "repeated_call"
    """The model asked again for a call it had already made with the same arguments, after being told so."""


class CallStatus(StrEnum):
    """Where one tool call stands."""

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    DENIED = "denied"
    DISPATCHED = "dispatched"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """It was dispatched but the process died before its outcome was recorded: a human decides what happened."""
    REFUSED = "refused"
    """Never dispatched: unknown tool, invalid arguments, a repeat."""


@dataclass(frozen=True, slots=True)
class RunLimits:
    """The budget of one run; every limit is checked at the one dispatch point, before each model or tool call."""

    max_steps: int = 12
    max_tool_calls: int = 24
    max_tokens: int = 60_000
    max_usd: float | None = None
    max_seconds: float = 600.0


@dataclass(slots=True)
class RunUsage:
    """What a run has spent so far (kept across pauses; wall time counts only while it runs)."""

    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    usd: float = 0.0
    cost_unknown: bool = False
    """A model call had no price: ``usd`` is a lower bound."""
    seconds: float = 0.0
    repeats: int = 0
    """Identical calls refused so far (the second one stops the run)."""


@dataclass(slots=True)
class CallRecord:
    """One tool call the model asked for, as stored: the idempotency key is ``run_id:call_id``."""

    run_id: str
    call_id: str
    name: str
    arguments: dict[str, Any]
    status: CallStatus
    step: int
    output: str | None = None
    error: str | None = None
    side_effects: bool = False

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.call_id}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True, slots=True)
class Decision:
    """A human's answer to a paused call: approve (optionally with edited arguments), deny, or, for a call whose
    outcome is unknown after a crash, state what happened (``outcome``: the text the model is given)."""

    call_id: str
    approve: bool
    arguments: dict[str, Any] | None = None
    reason: str = ""
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One thing that happened in a run, streamed to the terminal, SSE clients and the run log.

    ``kind``: ``step`` (a model call starts), ``thought`` (text the model wrote beside its calls), ``tool_call``,
    ``tool_result``, ``approval_required``, ``final`` (the answer), ``stopped``, ``failed``.
    """

    kind: str
    run_id: str
    step: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id, "step": self.step, **self.data}
