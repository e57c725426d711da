"""A loopback server that plays the Anthropic Messages API (``/v1/messages``).

See :mod:`ragwright.testing.provider_servers` for the fault vocabulary and an example.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ragwright.gateway.types import ToolCall, Usage
from ragwright.testing.loopback_http import LoopbackServer, Plan, Received, Reply, sse
from ragwright.testing.provider_replies import (
    Answer,
    answer,
    as_json,
    early_reply,
    example_args,
    halves,
    json_reply,
    next_id,
    split_words,
    stream_faults,
    word_count,
)

_ANTHROPIC_ERRORS = {
    "rate_limit": ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    "context_length_exceeded": ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    "overloaded": ("overloaded_error", "Overloaded"),
    "content_filter": ("invalid_request_error", "Output blocked by content filtering policy"),
}
_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}


class AnthropicServer(LoopbackServer):
    """Plays the Anthropic Messages API at ``/v1/messages``; :attr:`base_url` is the root URL."""

    def respond(self, request: Received, plan: Plan) -> Reply:
        if request.method != "POST" or request.path != "/v1/messages":
            return json_reply(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
        early = early_reply(plan, self._error(plan, request))
        if early is not None:
            return early
        body = request.body if isinstance(request.body, dict) else {}
        answer = self._decide(body, plan)
        model = str(body.get("model", "loopback"))
        msg_id = f"msg_{next_id()}"
        if body.get("stream"):
            return Reply(
                content_type="text/event-stream",
                events=stream_faults(plan, self._events(answer, model, msg_id, plan), self._error_event(plan)),
            )
        if plan.malformed:
            return Reply(body=b'{"type": "message", "content": [')
        content: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
        content += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments)} for c in answer.calls
        ]
        return json_reply(
            200,
            {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": _ANTHROPIC_STOP.get(answer.finish, answer.finish),
                "stop_sequence": None,
                "usage": _anthropic_usage(answer.usage, plan),
            },
        )

    def _decide(self, body: dict[str, Any], plan: Plan) -> Answer:
        turns = [t for t in body.get("messages") or [] if isinstance(t, dict)]
        last = turns[-1] if turns else {}
        blocks = last.get("content")
        blocks = [{"type": "text", "text": blocks}] if isinstance(blocks, str) else list(blocks or [])
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        last_role = "tool" if results else str(last.get("role", "user"))
        last_text = (
            str(results[-1].get("content"))
            if results
            else " ".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        )
        tools = [(str(t.get("name")), t.get("input_schema")) for t in body.get("tools") or [] if isinstance(t, dict)]
        choice = body.get("tool_choice") or {}
        forced = choice.get("name") if choice.get("type") == "tool" else None
        words = word_count(str(body.get("system") or "")) + sum(word_count(json.dumps(t.get("content"))) for t in turns)
        plan_calls = plan.tool_calls
        if forced and not plan_calls:  # a forced tool: the "JSON answer" pattern; fill it from the schema
            schema = dict(tools).get(forced)
            said = f"You said: {last_text[:200]}"
            args = as_json(plan.text, schema) if plan.text is not None else json.dumps(example_args(schema, said))
            plan_calls = (ToolCall(id=f"toolu_{next_id()}", name=forced, arguments=args),)
            plan = dataclasses.replace(plan, tool_calls=plan_calls, text="")
        return answer(plan, last_role, last_text, tools, forced, choice.get("type") == "none", None, False, words)

    def _events(self, answer: Answer, model: str, msg_id: str, plan: Plan) -> list[bytes]:
        usage = _anthropic_usage(answer.usage, plan)
        start_usage = {**usage, "output_tokens": 1}
        events = [
            sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "usage": start_usage,
                    },
                },
                "message_start",
            )
        ]
        index = 0
        if answer.text:
            events.append(
                sse(
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                    "content_block_start",
                )
            )
            events.append(sse({"type": "ping"}, "ping"))
            events += [
                sse(
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
                    "content_block_delta",
                )
                for p in split_words(answer.text)
            ]
            events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            index = 1
        for call in answer.calls:
            events.append(
                sse(
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                    },
                    "content_block_start",
                )
            )
            events += [
                sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                    "content_block_delta",
                )
                for part in halves(call.arguments)
            ]
            events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
            index += 1
        events.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": _ANTHROPIC_STOP.get(answer.finish, answer.finish), "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
                "message_delta",
            )
        )
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def _error(self, plan: Plan, request: Received) -> bytes:
        default = "api_error" if plan.status >= 500 else "invalid_request_error"
        kind, message = _ANTHROPIC_ERRORS.get(plan.error_code, (plan.error_code or default, f"HTTP {plan.status}"))
        if plan.echo_auth:
            message = f"invalid x-api-key: {request.headers.get('x-api-key', '')}"
        text = message if plan.echo_auth else plan.error_message or message
        return json.dumps({"type": "error", "error": {"type": kind, "message": text}}).encode()

    def _error_event(self, plan: Plan) -> bytes:
        kind, message = _ANTHROPIC_ERRORS.get(plan.error_code or "overloaded", (plan.error_code, "error"))
        return sse({"type": "error", "error": {"type": kind, "message": plan.error_message or message}}, "error")


def _anthropic_usage(u: Usage, plan: Plan) -> dict[str, int]:
    fresh = max(0, u.input_tokens - u.cached_input_tokens - plan.cache_creation_tokens)
    return {
        "input_tokens": fresh,
        "cache_read_input_tokens": u.cached_input_tokens,
        "cache_creation_input_tokens": plan.cache_creation_tokens,
        "output_tokens": u.output_tokens,
    }
