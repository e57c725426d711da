"""Loopback servers that play OpenAI (``/v1/chat/completions``, ``/v1/models``) and Anthropic (``/v1/messages``),
with a scriptable queue of faults: for the gateway's tests and benchmarks, real HTTP on 127.0.0.1, port 0.

Each request takes the next queued :class:`~ragwright.testing.loopback_http.Plan` (or the server's ``default``).
Without a scripted text the server behaves like a small deterministic model: it echoes the last user message, calls
the first offered tool (or the one ``tool_choice`` names) unless the last message is a tool result, and answers a JSON
response format with an object that fits the schema. Faults are ready-made plans:

=========================  ==============================================================================
``rate_limited(2)``        429 with ``Retry-After: 2``
``server_error(503)``      500/502/503 (any status)
``overloaded()``           529, Anthropic's "overloaded"
``hang()``                 reads the request, never answers (a read timeout)
``slow_first_token(s)``    stream headers at once, the first event after ``s`` seconds
``cut_stream(n)``          aborts the connection after ``n`` stream events
``malformed_json()``       a body (or first event) that is not JSON
``wrong_content_type()``   200 with ``text/html``
``oversized(n)``           a body (or stream line) of ``n`` bytes
``context_length_error()`` the provider's context-length 400
``content_filtered()``     finish_reason ``content_filter`` (OpenAI) / stop_reason ``refusal`` (Anthropic)
``drop_connection()``      closes the connection without a response
``closed_port_url()``      a URL with no listener (connection refused)
=========================  ==============================================================================

Example::

    with OpenAIServer() as server:
        server.enqueue(rate_limited(1.5), Plan(text="ok", usage=Usage(1000, 400, 300, 100)))
        model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, api_key="sk-test")
        ...
        assert server.request_count == 2
"""

from __future__ import annotations

from typing import Any

from ragwright.testing.anthropic_server import AnthropicServer
from ragwright.testing.loopback_http import Plan, closed_port_url
from ragwright.testing.openai_server import OpenAIServer

__all__ = [
    "AnthropicServer",
    "OpenAIServer",
    "Plan",
    "closed_port_url",
    "content_filtered",
    "context_length_error",
    "cut_stream",
    "drop_connection",
    "hang",
    "malformed_json",
    "overloaded",
    "oversized",
    "rate_limited",
    "server_error",
    "slow_first_token",
    "wrong_content_type",
]


# -- fault vocabulary ---------------------------------------------------------------------------------------------


def rate_limited(retry_after: float | str | None = 1, **kw: Any) -> Plan:
    value = None if retry_after is None else (retry_after if isinstance(retry_after, str) else f"{retry_after:g}")
    return Plan(status=429, error_code="rate_limit", retry_after=value, **kw)


def server_error(status: int = 500, **kw: Any) -> Plan:
    return Plan(status=status, **kw)


def overloaded(**kw: Any) -> Plan:
    return Plan(status=529, error_code="overloaded", **kw)


def hang() -> Plan:
    return Plan(hang=True)


def slow_first_token(seconds: float, **kw: Any) -> Plan:
    return Plan(first_token_delay=seconds, **kw)


def cut_stream(after_events: int, **kw: Any) -> Plan:
    return Plan(cut_after=after_events, **kw)


def malformed_json(**kw: Any) -> Plan:
    return Plan(malformed=True, **kw)


def wrong_content_type(content_type: str = "text/html; charset=utf-8", **kw: Any) -> Plan:
    return Plan(content_type=content_type, **kw)


def oversized(nbytes: int = 17 * 1024 * 1024, *, declare_length: bool = True) -> Plan:
    return Plan(body_bytes=nbytes, declare_length=declare_length)


def context_length_error() -> Plan:
    return Plan(status=400, error_code="context_length_exceeded")


def content_filtered() -> Plan:
    return Plan(finish_reason="content_filter")


def drop_connection() -> Plan:
    return Plan(drop=True)
