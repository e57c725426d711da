"""Agents: a model that plans and calls tools through the gateway, inside limits, pausing for a human.

- :mod:`ragwright.agents.tools`: typed tools (JSON Schema from the signature, arguments validated before dispatch);
- :mod:`ragwright.agents.records`: limits, statuses, tool-call records and streamed events;
- :mod:`ragwright.agents.store`: runs and calls persisted in SQLite (pauses survive restarts; at-most-once calls);
- :mod:`ragwright.agents.runner`: the loop and its one dispatch point;
- :mod:`ragwright.agents.kb_tools`: the knowledge-base tools (search, answer, get_document) acting as the caller.
"""

from ragwright.agents.records import AgentEvent, CallStatus, Decision, RunLimits, RunStatus, StopReason
from ragwright.agents.runner import AgentRunner
from ragwright.agents.store import RunState, RunStore
from ragwright.agents.tools import AgentTool, Toolbox, ToolContext, agent_tool

__all__ = [
    "AgentEvent",
    "AgentRunner",
    "AgentTool",
    "CallStatus",
    "Decision",
    "RunLimits",
    "RunState",
    "RunStatus",
    "RunStore",
    "StopReason",
    "ToolContext",
    "Toolbox",
    "agent_tool",
]
