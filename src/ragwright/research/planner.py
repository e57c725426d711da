"""The research agent's policy: a fixed plan (sub-queries, searches, one report) over a real model.

:class:`ResearchPlanner` is a :class:`~ragwright.gateway.base.ChatModel` that an
:class:`~ragwright.agents.runner.AgentRunner` drives like any model (see docs/adr/0013-research-as-a-planned-run.md):

1. at the first step it asks the real model for sub-queries (the packaged ``research_plan`` prompt, JSON reply) and
   answers the runner with one tool call per (sub-query, source): ``search`` on every knowledge base, and each
   configured MCP source tool with ``{"query": ...}``;
2. once the runner has run them (through its one dispatch point: limits, repeats, approvals, at-most-once records,
   spans), it numbers the passages the searches returned, asks the real model for the report (``research_report``
   prompt, passages fenced as data, JSON reply), and answers the runner with that JSON as the final answer.

So a research run is an ordinary agent run: persisted, listed by ``ragwright agent list``, scored by the trajectory
metrics. Small local models, which rarely plan tool calls themselves, only have to write two JSON objects.

Example::

    planner = ResearchPlanner(rw.gateway.relayed("openai:gpt-4o-mini"), kbs=["default", "hr"])
    runner = AgentRunner(planner, toolbox, store)       # the research agent's run, driven as usual
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ragwright.agents.evidence import Passage, collect_passages
from ragwright.answering.injection_prompt import fence
from ragwright.extract.extractor import parse_reply
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Message, ResponseFormat, ToolCall, Usage
from ragwright.prompts.registry import PromptSource, default_registry

__all__ = ["PLAN_PROMPT", "REPORT_PROMPT", "ResearchPlanner"]

PLAN_PROMPT = "research_plan"
REPORT_PROMPT = "research_report"
PASSAGE_CHARS = 1_200
"""Each passage is cut here in the report prompt (a small model's window holds a dozen)."""

PLAN_SCHEMA = {
    "type": "object",
    "properties": {"sub_queries": {"type": "array", "items": {"type": "string"}}},
    "required": ["sub_queries"],
}
REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "heading": {"type": "string"},
                    "claims": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "text": {"type": "string"},
                                "cite": {"type": "array", "items": {"type": "integer"}},
                            },
                            "required": ["text", "cite"],
                        },
                    },
                },
                "required": ["heading", "claims"],
            },
        },
        "not_found": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["sections", "not_found"],
}


class ResearchPlanner:
    """A ChatModel that plans searches and writes the report with ``inner`` (see the module docstring)."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        kbs: Sequence[str] = ("default",),
        sources: Sequence[str] = (),
        max_sub_queries: int = 4,
        k: int = 4,
        max_passages: int = 12,
        passage_chars: int = 12_000,
        prompts: PromptSource | None = None,
        max_tokens: int = 700,
    ) -> None:
        self.inner = inner
        self.kbs = list(dict.fromkeys(kbs)) or ["default"]
        self.sources = list(dict.fromkeys(sources))
        self.max_sub_queries = max_sub_queries
        self.k = k
        self.max_passages = max_passages
        self.passage_chars = passage_chars
        """The passages shown to the report prompt stay under this many characters together (a local model's window
        is 2,048 tokens); the ones after are not shown, and not used to check claims either."""
        self.prompts = prompts or default_registry()
        self.max_tokens = max_tokens

    @property
    def name(self) -> str:
        return self.inner.name

    async def chat(self, request: ChatRequest) -> ChatResponse:
        question = next((m.content or "" for m in request.messages if m.role == "user"), "")
        planned = any(m.role == "assistant" and m.tool_calls for m in request.messages)
        if not planned:
            return await self._plan(question, request)
        return await self._report(question, request)

    async def _ask(
        self, request: ChatRequest, prompt_name: str, user: str, schema: dict[str, Any], **values: str
    ) -> ChatResponse:
        prompt = self.prompts.resolve(request.context.tenant, prompt_name, sticky=request.context.key_id)
        system = prompt.render(**values).strip()
        inner = ChatRequest(
            model=self.inner.name,
            messages=(Message("system", system), Message("user", user)),
            response_format=ResponseFormat(json_schema=schema, name=prompt_name, strict=False),
            temperature=0.0,
            max_tokens=self.max_tokens,
            context=dataclasses.replace(request.context, prompt=prompt.ref),
        )
        return await self.inner.chat(inner)

    async def _plan(self, question: str, request: ChatRequest) -> ChatResponse:
        reply = await self._ask(request, PLAN_PROMPT, question, PLAN_SCHEMA, n=str(self.max_sub_queries))
        data, _ = parse_reply(reply.text)
        raw = data.get("sub_queries") if data else None
        queries = [q.strip() for q in raw if isinstance(q, str) and q.strip()] if isinstance(raw, list) else []
        queries = list(dict.fromkeys(queries))[: self.max_sub_queries] or [question]
        calls: list[ToolCall] = []
        for qi, query in enumerate(queries, 1):
            for kb in self.kbs:
                args = {"query": query, "knowledge_base": kb, "k": self.k}
                calls.append(ToolCall(f"q{qi}_{kb}", "search", json.dumps(args)))
            for si, source in enumerate(self.sources, 1):
                calls.append(ToolCall(f"q{qi}_m{si}", source, json.dumps({"query": query})))
        thought = "Sub-queries: " + "; ".join(queries)
        return reply.replace(message=Message("assistant", thought, tool_calls=tuple(calls)), finish_reason="tool_calls")

    def shown(self, messages: Sequence[Message]) -> list[Passage]:
        """The passages the report prompt shows: in order, at most ``max_passages``, within ``passage_chars``."""
        out: list[Passage] = []
        used = 0
        for p in collect_passages(messages)[: self.max_passages]:
            size = min(len(p.text), PASSAGE_CHARS)
            if out and used + size > self.passage_chars:
                break
            out.append(p)
            used += size
        return out

    async def _report(self, question: str, request: ChatRequest) -> ChatResponse:
        passages = self.shown(request.messages)
        if not passages:
            report = {"title": question, "sections": [], "not_found": [question]}
            return ChatResponse(model=self.name, message=Message("assistant", json.dumps(report)), usage=Usage())
        listing = "\n\n".join(f"[{p.n}] ({p.source}) {p.text[:PASSAGE_CHARS]}" for p in passages)
        fenced, _ = fence(listing, label="PASSAGES")
        reply = await self._ask(request, REPORT_PROMPT, f"{fenced}\n\nQuestion: {question}", REPORT_SCHEMA)
        return reply.replace(message=Message("assistant", reply.text), finish_reason="stop")

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        reply = await self.chat(request)
        yield Chunk(delta=reply.text, finish_reason=reply.finish_reason, usage=reply.usage, model=self.name)

    async def aclose(self) -> None:
        """Nothing to release: ``inner`` belongs to the gateway."""
