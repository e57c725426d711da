"""The agent loop: a model plans and calls tools through the gateway, inside limits, pausing for a human.

:class:`AgentRunner` drives one :class:`~ragwright.agents.store.RunState` at a time: it asks the model (native tool
calls, or the JSON fallback of :mod:`ragwright.agents.jsonmode` for models without them), and hands every tool call to
one dispatch point, :meth:`AgentRunner._call`, which in order

1. refuses an unknown tool or invalid arguments (the reason goes back to the model as the observation);
2. refuses a call identical to one that already ran (the model is told; a second repeat stops the run; retrying a
   call that failed is allowed);
3. checks the limits (steps, tool calls, tokens, USD, wall time) before anything is spent;
4. pauses the run when the tool ``needs_approval`` (unless the run's policy approves or denies them all);
5. records the call ``dispatched`` (committed) *before* running it, then its outcome.

Tool output is data: it reaches the model fenced (:func:`ragwright.answering.injection_prompt.fence`), and the
tools, their flags and the limits are fixed when the run starts, so nothing a tool returns can change them.

Example::

    model = sync_gateway.relayed("openai:gpt-4o-mini")
    runner = AgentRunner(model, Toolbox.of(kb_tools(RagTools(app))), RunStore(path))
    run = runner.new_run("How long is the warranty?", ToolContext(local_key("acme")), model="openai:gpt-4o-mini")
    async for event in runner.drive(run):
        print(event.kind, event.data)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from ragwright.agents.evidence import check_answer
from ragwright.agents.fit import ask_within_window
from ragwright.agents.jsonmode import json_request, parse_json_reply
from ragwright.agents.records import AgentEvent, CallRecord, CallStatus, Decision, RunLimits, RunStatus, StopReason
from ragwright.agents.store import RunState, RunStore
from ragwright.agents.tools import AgentTool, Toolbox, ToolContext
from ragwright.answering.injection_prompt import fence
from ragwright.errors import AgentRunError, EditedArgumentsInvalid, GatewayError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, RequestContext, ToolCall
from ragwright.models.base import Embedder
from ragwright.observability import semconv, tracing
from ragwright.processes import this_process
from ragwright.prompts.registry import PromptSource, default_registry
from ragwright.redact import redact

__all__ = ["AGENT_PROMPT", "AgentRunner", "Approve"]

AGENT_PROMPT = "agent"
"""The system prompt's name in the prompt registry (:mod:`ragwright.prompts`; packaged as ``agent_system_v1.txt``)."""
OUTPUT_CHARS = 6_000
"""A tool's output is cut here before it reaches the model (the stored record keeps the same text)."""

RUN_ID, STEP, CALL_STATUS = "ragwright.agent.run_id", "ragwright.agent.step", "ragwright.agent.call_status"
TOOL_NAME, TOOL_CALL_ID = "gen_ai.tool.name", "gen_ai.tool.call.id"
"""Span attributes: each model step is an ``invoke_agent step N`` span, each tool call an ``execute_tool NAME`` one."""

Approve = str  # "ask" | "all" | "none"
_APPROVE = ("ask", "all", "none")


def output_text(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return json.dumps(value, ensure_ascii=False, default=str)


def _canonical(name: str, values: Mapping[str, Any]) -> str:
    return name + json.dumps(values, sort_keys=True, default=str)


class AgentRunner:
    """Drives runs of one model over one toolbox, persisting every step in a :class:`RunStore`."""

    def __init__(
        self,
        model: ChatModel,
        toolbox: Toolbox,
        store: RunStore,
        *,
        native_tools: bool = True,
        clock: Callable[[], float] = time.monotonic,
        prompts: PromptSource | None = None,
        embedder: Embedder | None = None,
        check_answers: bool = True,
    ) -> None:
        self.model = model
        self.embedder = embedder
        self.check_answers = check_answers
        """Check the final answer's sentences against what the tools returned (:mod:`ragwright.agents.evidence`)."""
        self.toolbox = toolbox
        self.store = store
        self.native_tools = native_tools
        self.clock = clock
        self.prompts = prompts or default_registry()

    def new_run(
        self,
        task: str,
        ctx: ToolContext,
        *,
        model: str,
        limits: RunLimits | None = None,
        approve: Approve = "ask",
    ) -> RunState:
        if approve not in _APPROVE:
            raise AgentRunError(f"approve must be one of {', '.join(_APPROVE)}, not {approve!r}")
        if not task.strip():
            raise AgentRunError("the task is empty")
        run = RunState(
            id=f"run_{uuid.uuid4().hex[:16]}",
            task=task,
            model=model,
            key=ctx.key,
            kb=ctx.kb,
            tools=self.toolbox.names(),
            approve=approve,
            limits=limits or RunLimits(),
            messages=[Message("user", task)],
        )
        self.store.put_run(run)
        return run

    def context(self, run: RunState) -> ToolContext:
        return ToolContext(key=run.key, kb=run.kb, run_id=run.id)

    async def resume(self, run: RunState, decisions: Sequence[Decision] = ()) -> AsyncIterator[AgentEvent]:
        """Apply a human's decisions to the paused calls, then go on (see :meth:`drive`)."""
        if run.status is not RunStatus.AWAITING_APPROVAL:
            raise AgentRunError(f"run {run.id} is {run.status.value}, not awaiting approval")
        waiting = {c.call_id: c for c in self.store.calls(run.id) if c.status in _WAITING}
        edited: dict[str, dict[str, Any]] = {}
        for d in decisions:  # every decision is checked before anything changes
            call = waiting.get(d.call_id)
            if call is None:
                raise AgentRunError(f"run {run.id} has no call {d.call_id!r} waiting for a decision")
            if d.approve and d.arguments is not None and call.status is CallStatus.PENDING_APPROVAL:
                tool = self.toolbox.get(call.name)
                parsed = tool.parse(d.arguments) if tool else None
                if parsed is None or parsed.values is None:
                    why = parsed.error if parsed else "the tool is not available"
                    raise EditedArgumentsInvalid(f"edited arguments for {call.name} are invalid: {why}")
                edited[d.call_id] = parsed.values
        if not self.store.claim(run.id, this_process()):
            raise AgentRunError(f"run {run.id} was resumed by someone else")
        for d in decisions:
            self._decide(waiting[d.call_id], d, edited.get(d.call_id))
        run.status = RunStatus.RUNNING
        async for event in self.drive(run):
            yield event

    def _decide(self, call: CallRecord, d: Decision, arguments: dict[str, Any] | None) -> None:
        if call.status is CallStatus.UNKNOWN:
            # never re-run: the human says what happened, or that it failed
            call.status = CallStatus.DONE if d.approve and d.outcome is not None else CallStatus.FAILED
            call.output = d.outcome if call.status is CallStatus.DONE else None
            call.error = None if call.status is CallStatus.DONE else f"outcome unknown; not re-run. {d.reason}".strip()
        elif not d.approve:
            call.status, call.error = CallStatus.DENIED, f"a human denied this call. {d.reason}".strip()
        else:
            call.arguments = arguments if arguments is not None else call.arguments
            call.status = CallStatus.APPROVED
        self.store.put_call(call)

    async def drive(self, run: RunState) -> AsyncIterator[AgentEvent]:
        """Run until a final answer, a limit, a failure or a pause; every event is yielded as it happens."""
        start = self.clock()
        spent = run.usage.seconds
        run.status, run.owner = RunStatus.RUNNING, this_process()
        self.store.put_run(run)

        def elapsed() -> float:
            return spent + self.clock() - start

        try:
            while run.status is RunStatus.RUNNING:
                for call in self._outstanding(run):
                    async for event in self._call(run, call, elapsed):
                        yield event
                    if run.status is not RunStatus.RUNNING:
                        return
                stop = self._over(run, elapsed())
                if stop is not None:
                    yield self._stop(run, stop)
                    return
                async for event in self._step(run):
                    yield event
        finally:
            run.usage.seconds = elapsed()
            if run.status is not RunStatus.RUNNING:
                run.owner = None
            self.store.put_run(run)

    def _outstanding(self, run: RunState) -> list[ToolCall]:
        """The tool calls of the last assistant message that have no result message yet."""
        for i in range(len(run.messages) - 1, -1, -1):
            m = run.messages[i]
            if m.role == "assistant":
                answered = {r.tool_call_id for r in run.messages[i + 1 :] if r.role == "tool"}
                return [c for c in m.tool_calls if c.id not in answered]
        return []

    def _over(self, run: RunState, seconds: float) -> StopReason | None:
        u, lim = run.usage, run.limits
        if u.steps >= lim.max_steps:
            return StopReason.MAX_STEPS
        if u.tokens >= lim.max_tokens:
            return StopReason.MAX_TOKENS
        if lim.max_usd is not None and u.usd >= lim.max_usd:
            return StopReason.MAX_USD
        if seconds >= lim.max_seconds:
            return StopReason.MAX_SECONDS
        return None

    def _stop(self, run: RunState, reason: StopReason) -> AgentEvent:
        run.status, run.stop_reason = RunStatus.STOPPED, reason
        self.store.put_run(run)
        return AgentEvent("stopped", run.id, run.usage.steps, {"reason": reason.value, "usage": _usage(run)})

    def _request(self, run: RunState) -> ChatRequest:
        prompt = self.prompts.resolve(run.tenant, AGENT_PROMPT, sticky=run.key.key_id)
        system = Message("system", prompt.render().strip())
        ctx = RequestContext(tenant=run.tenant, key_id=run.key.key_id, tags=run.key.tags, prompt=prompt.ref)
        if not self.native_tools:
            return json_request(run.model, system, run.messages, self.toolbox, ctx)
        return ChatRequest(
            model=run.model,
            messages=(system, *run.messages),
            tools=self.toolbox.gateway_tools(),
            tool_choice="auto",
            context=ctx,
        )

    async def _step(self, run: RunState) -> AsyncIterator[AgentEvent]:
        run.usage.steps += 1
        step = run.usage.steps
        yield AgentEvent("step", run.id, step)
        attrs = {semconv.OPERATION: "invoke_agent", RUN_ID: run.id, STEP: step, semconv.TENANT: run.tenant}

        async def ask() -> ChatResponse:
            with tracing.stage(f"invoke_agent step {step}", attrs):  # the model call's gateway span nests here
                return await self.model.chat(self._request(run))

        try:  # a conversation longer than the model's window gives way in its tool outputs (agents.fit)
            reply = await ask_within_window(ask, run.messages, lambda: self.store.put_run(run))
        except GatewayError as exc:
            run.status, run.error = RunStatus.FAILED, redact(f"{type(exc).__name__}: {exc}")
            self.store.put_run(run)
            yield AgentEvent("failed", run.id, step, {"error": run.error})
            return
        self._account(run, reply)
        message = reply.message if self.native_tools else parse_json_reply(reply.text, step)
        run.messages.append(message)
        self.store.put_run(run)
        if message.content and message.tool_calls:
            yield AgentEvent("thought", run.id, step, {"text": message.content})
        if not message.tool_calls:
            run.status, run.answer = RunStatus.DONE, message.content or ""
            checked = check_answer(run.answer, run.messages, self.embedder) if self.check_answers else None
            if checked is not None:  # the tools returned passages: cite the sentences they support, like ask
                run.cited_answer, run.unsupported = checked.text, checked.unsupported
                run.citations = [c.to_dict() for c in checked.citations]
            self.store.put_run(run)
            data: dict[str, Any] = {"answer": run.answer, "usage": _usage(run)}
            if checked is not None:
                data |= {"cited_answer": run.cited_answer, "citations": run.citations, "unsupported": run.unsupported}
            yield AgentEvent("final", run.id, step, data)

    def _account(self, run: RunState, reply: ChatResponse) -> None:
        run.usage.tokens += reply.usage.total_tokens
        if reply.cost_usd is None:
            run.usage.cost_unknown = run.usage.cost_unknown or not reply.cached
        else:
            run.usage.usd += reply.cost_usd

    async def _call(self, run: RunState, call: ToolCall, elapsed: Callable[[], float]) -> AsyncIterator[AgentEvent]:
        step = run.usage.steps
        rec = self.store.get_call(run.id, call.id)
        tool = self.toolbox.get(call.name)
        if rec is None:
            rec = self._admit(run, call, tool)
            yield AgentEvent(
                "tool_call", run.id, step, {"call_id": call.id, "name": call.name, "arguments": rec.arguments}
            )
            if run.status is not RunStatus.RUNNING:  # a second repeat or the tool-call limit stopped the run
                reason = run.stop_reason.value if run.stop_reason else None
                yield AgentEvent("stopped", run.id, step, {"reason": reason, "usage": _usage(run)})
                return
        if rec.status is CallStatus.PENDING_APPROVAL:
            run.status = RunStatus.AWAITING_APPROVAL
            self.store.put_run(run)
            yield AgentEvent("approval_required", run.id, step, rec.to_dict())
            return
        if rec.status is CallStatus.UNKNOWN:
            run.status = RunStatus.AWAITING_APPROVAL
            self.store.put_run(run)
            yield AgentEvent("approval_required", run.id, step, rec.to_dict())
            return
        if rec.status in (CallStatus.APPROVED, CallStatus.DISPATCHED) and tool is not None:
            if rec.status is CallStatus.DISPATCHED:  # recorded dispatched by this very run: never again
                rec.status, rec.error = CallStatus.UNKNOWN, "dispatched before; outcome not recorded"
                self.store.put_call(rec)
                run.status = RunStatus.AWAITING_APPROVAL
                self.store.put_run(run)
                yield AgentEvent("approval_required", run.id, step, rec.to_dict())
                return
            await self._dispatch(run, rec, tool, elapsed)
        elif rec.status is CallStatus.APPROVED:  # approved, but the tool is gone (the run was resumed elsewhere)
            rec.status, rec.error = CallStatus.FAILED, f"the tool {call.name!r} is not available to this run"
            self.store.put_call(rec)
        text = rec.output if rec.status is CallStatus.DONE else f"ERROR: {rec.error}"
        body, _ = fence((text or "")[:OUTPUT_CHARS], label="TOOL OUTPUT")
        run.messages.append(Message("tool", body, tool_call_id=call.id, name=call.name))
        self.store.put_run(run)
        yield AgentEvent(
            "tool_result",
            run.id,
            step,
            {"call_id": call.id, "name": call.name, "status": rec.status.value, "output": text},
        )

    def _admit(self, run: RunState, call: ToolCall, tool: AgentTool | None) -> CallRecord:
        """Checks 1-4 of the module docstring; the call's record, already stored."""
        rec = CallRecord(run.id, call.id, call.name, {}, CallStatus.REFUSED, run.usage.steps)
        if tool is None:
            rec.error = f"there is no tool {call.name!r}; the tools are: {', '.join(self.toolbox.names())}"
        else:
            parsed = tool.parse(call.arguments)
            rec.side_effects = tool.side_effects
            if parsed.values is None:
                rec.error = f"invalid arguments for {call.name}: {parsed.error}"
            else:
                rec.arguments = parsed.values
                self._check_call(run, rec, tool)
        self.store.put_call(rec)
        return rec

    def _check_call(self, run: RunState, rec: CallRecord, tool: AgentTool) -> None:
        key = _canonical(rec.name, rec.arguments)
        # a call that already succeeded with these arguments (retrying a failed one is allowed, within the limits)
        earlier = [c for c in self.store.calls(run.id) if c.status in _RAN and _canonical(c.name, c.arguments) == key]
        if earlier:
            run.usage.repeats += 1
            rec.error = (
                f"this exact call was already made (call {earlier[0].call_id}); its result is above. "
                "Do not repeat it: use that result, call something else, or give the final answer."
            )
            if run.usage.repeats > 1:
                run.status, run.stop_reason = RunStatus.STOPPED, StopReason.REPEATED_CALL
            return
        if run.usage.tool_calls >= run.limits.max_tool_calls:
            rec.error = "the run has used all its tool calls"
            run.status, run.stop_reason = RunStatus.STOPPED, StopReason.MAX_TOOL_CALLS
            return
        if not tool.needs_approval or run.approve == "all":
            rec.status = CallStatus.APPROVED
        elif run.approve == "none":
            rec.status, rec.error = CallStatus.DENIED, "calls that need approval are denied by this run's policy"
        else:
            rec.status = CallStatus.PENDING_APPROVAL

    async def _dispatch(self, run: RunState, rec: CallRecord, tool: AgentTool, elapsed: Callable[[], float]) -> None:
        rec.status = CallStatus.DISPATCHED
        self.store.put_call(rec)  # committed before the tool runs: at most once
        run.usage.tool_calls += 1
        remaining = max(run.limits.max_seconds - elapsed(), 0.001)
        attrs = {semconv.OPERATION: "execute_tool", TOOL_NAME: tool.name, TOOL_CALL_ID: rec.call_id, RUN_ID: run.id}
        with tracing.stage(f"execute_tool {tool.name}", attrs) as span:
            tracing.annotate_caller(run.tenant, run.key.key_id)
            try:
                value = await asyncio.wait_for(tool.run(self.context(run), rec.arguments), timeout=remaining)
            except TimeoutError:
                rec.status, rec.error = CallStatus.FAILED, "the tool ran past the run's time limit"
            except Exception as exc:  # a tool's failure is an observation for the model, not the end of the run
                rec.status, rec.error = CallStatus.FAILED, redact(f"{type(exc).__name__}: {exc}")
            else:
                rec.status, rec.output = CallStatus.DONE, output_text(value)[:OUTPUT_CHARS]
            span.set_attribute(CALL_STATUS, rec.status.value)
        self.store.put_call(rec)


_WAITING = (CallStatus.PENDING_APPROVAL, CallStatus.UNKNOWN)
_RAN = (CallStatus.DONE, CallStatus.DISPATCHED, CallStatus.UNKNOWN)


def _usage(run: RunState) -> dict[str, Any]:
    u = run.usage
    return {"steps": u.steps, "tool_calls": u.tool_calls, "tokens": u.tokens, "usd": u.usd, "seconds": u.seconds}
