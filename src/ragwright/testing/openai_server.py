"""A loopback server that plays the OpenAI chat completions API (``/v1/chat/completions``, ``/v1/models``).

See :mod:`ragwright.testing.provider_servers` for the fault vocabulary and an example.
"""

from __future__ import annotations

import json
from typing import Any

from ragwright.gateway.types import ToolCall, Usage
from ragwright.testing.loopback_http import LoopbackServer, Plan, Received, Reply, sse
from ragwright.testing.provider_replies import (
    Answer,
    answer,
    early_reply,
    halves,
    json_reply,
    next_id,
    split_words,
    stream_faults,
    word_count,
)

_OPENAI_ERRORS = {
    "rate_limit": ("rate_limit_exceeded", "Rate limit reached, try again later."),
    "context_length_exceeded": (
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.",
    ),
    "overloaded": ("server_overloaded", "The server is overloaded."),
    "content_filter": ("content_filter", "The prompt was filtered by the content policy."),
}


class OpenAIServer(LoopbackServer):
    """Plays the OpenAI chat completions API. Point clients at :attr:`base_url` (``http://127.0.0.1:PORT/v1``)."""

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def respond(self, request: Received, plan: Plan) -> Reply:
        if request.method == "GET" and request.path == "/v1/models":
            return json_reply(
                200, {"object": "list", "data": [{"id": "loopback", "object": "model", "owned_by": "me"}]}
            )
        if request.method != "POST" or request.path not in ("/v1/chat/completions", "/chat/completions"):
            return json_reply(
                404,
                {
                    "error": {
                        "message": f"no route {request.path}",
                        "type": "invalid_request_error",
                        "code": "not_found",
                    }
                },
            )
        early = early_reply(plan, self._error(plan, request))
        if early is not None:
            return early
        body = request.body if isinstance(request.body, dict) else {}
        answer = self._decide(body, plan)
        model = str(body.get("model", "loopback"))
        if body.get("stream"):
            return Reply(
                content_type="text/event-stream",
                events=stream_faults(plan, self._events(answer, model, body), self._error_event(plan)),
            )
        if plan.malformed:
            return Reply(body=b'{"id": "chatcmpl-1", "choices": [{"message": ')
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
        if answer.calls:
            message["tool_calls"] = [_openai_call(c) for c in answer.calls]
        return json_reply(
            200,
            {
                "id": f"chatcmpl-{next_id()}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": answer.finish}],
                "usage": _openai_usage(answer.usage),
            },
        )

    def _decide(self, body: dict[str, Any], plan: Plan) -> Answer:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        last = messages[-1] if messages else {}
        tools = [(t["function"]["name"], t["function"].get("parameters")) for t in body.get("tools") or []]
        choice = body.get("tool_choice")
        forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        fmt = body.get("response_format") or None
        schema = (fmt.get("json_schema") or {}).get("schema") if isinstance(fmt, dict) else None
        words = sum(word_count(str(m.get("content") or "")) for m in messages)
        return answer(
            plan,
            str(last.get("role", "user")),
            str(last.get("content") or ""),
            tools,
            forced,
            choice == "none",
            schema,
            fmt is not None,
            words,
        )

    def _events(self, answer: Answer, model: str, body: dict[str, Any]) -> list[bytes]:
        head = {"id": f"chatcmpl-{next_id()}", "object": "chat.completion.chunk", "created": 0, "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in split_words(answer.text)]
        for i, call in enumerate(answer.calls):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            events += [
                chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
                for part in halves(call.arguments)
            ]
        events.append(chunk({}, answer.finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(sse({**head, "choices": [], "usage": _openai_usage(answer.usage)}))
        events.append(b"data: [DONE]\n\n")
        return events

    def _error(self, plan: Plan, request: Received) -> bytes:
        code, message = _OPENAI_ERRORS.get(plan.error_code, (plan.error_code or None, ""))
        if plan.echo_auth:
            message = f"Incorrect API key provided: {request.headers.get('authorization', '')}"
        kind = "invalid_request_error" if plan.status < 500 else "server_error"
        return json.dumps(
            {
                "error": {
                    "message": message if plan.echo_auth else plan.error_message or message or f"HTTP {plan.status}",
                    "type": kind,
                    "param": None,
                    "code": code,
                }
            }
        ).encode()

    def _error_event(self, plan: Plan) -> bytes:
        code, message = _OPENAI_ERRORS.get(plan.error_code or "overloaded", (plan.error_code, ""))
        return sse({"error": {"message": plan.error_message or message, "type": "server_error", "code": code}})


def _openai_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _openai_usage(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }
