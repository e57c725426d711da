"""LLM judges through the gateway's :class:`~ragwright.gateway.base.ChatModel` seam, made trustworthy.

- temperature 0 and a fixed seed on every call;
- the reply must be a JSON object valid against the rubric's schema (``jsonschema``); on failure the judge is asked
  once more, told what was wrong; a second failure is a :class:`~ragwright.errors.JudgeOutputError`;
- replies are cached on disk (SQLite) by (judge model, rubric prompt version, inputs): a re-run costs nothing;
- a semaphore bounds concurrent calls; a USD budget per run stops further (uncached) calls once spent;
- :meth:`Judge.pairwise` asks in both orders; a side wins only if both orders agree, anything else is a tie.

Tokens and cost are added to the :class:`JudgeLedger` of the current case (a context variable the runner sets).

Example::

    judge = Judge(model, cache_path=Path("runs/judge-cache.sqlite"), budget_usd=2.0)
    result = await judge.run("relevance", question="...", answer="...")
    result.data["score"], result.cached
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from ragwright.errors import BudgetExceeded, JudgeOutputError
from ragwright.evals.rubrics import RUBRICS, Rubric
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import ChatRequest, Message, RequestContext, ResponseFormat, Usage
from ragwright.prompts.model import PromptVersion
from ragwright.prompts.registry import PromptSource, default_registry
from ragwright.sqlite_migrations import Schema, migrate

__all__ = ["Judge", "JudgeLedger", "JudgeResult", "current_ledger"]

SYSTEM = "You are a meticulous evaluator. You reply with a single JSON object and nothing else."


@dataclass
class JudgeLedger:
    """Judge calls made for one case: how many, how many were cache hits, tokens and USD."""

    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    """Calls whose model has no price in the table (their cost is unknown, not zero)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cached": self.cached,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "cost_unknown": self.cost_unknown,
        }


current_ledger: ContextVar[JudgeLedger | None] = ContextVar("ragwright_judge_ledger", default=None)


@dataclass(frozen=True)
class JudgeResult:
    """A judge's schema-valid reply, whether it came from the cache, and what the call cost."""

    data: dict[str, Any]
    cached: bool
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def _parse(text: str, rubric: Rubric) -> dict[str, Any]:
    """The reply as a dict valid against the rubric's schema; ValueError saying what is wrong otherwise."""
    match = _FENCE.match(text)
    body = match.group(1) if match else text.strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at position {exc.pos})") from None
    try:
        jsonschema.validate(data, rubric.schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise ValueError(f"{where}: {exc.message}") from None
    return dict(data)


CACHE_SCHEMA = Schema("judge")


@CACHE_SCHEMA.migration
def m001_judge_cache(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS judge_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


class _Cache:
    """Judge replies on disk: one SQLite table, key -> JSON."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last entries on power loss is fine
        migrate(self._db, CACHE_SCHEMA, where=path)

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM judge_cache WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO judge_cache (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self._db.close()


class Judge:
    """Runs rubric prompts through a ``ChatModel``: deterministic, schema-checked, cached, within a budget."""

    def __init__(
        self,
        model: ChatModel,
        *,
        cache_path: Path | None = None,
        seed: int = 0,
        concurrency: int = 4,
        budget_usd: float | None = None,
        max_tokens: int = 512,
        prompts: PromptSource | None = None,
        tenant: str = "default",
    ) -> None:
        self.prompts = prompts or default_registry()
        self.tenant = tenant
        self.model = model
        self.seed = seed
        self.budget_usd = budget_usd
        self.max_tokens = max_tokens
        self.spent_usd = 0.0
        self.calls = 0
        self.cache_hits = 0
        self._cache = _Cache(cache_path) if cache_path is not None else None
        self._sem = asyncio.Semaphore(concurrency)

    @property
    def name(self) -> str:
        return self.model.name

    def _key(self, prompt: PromptVersion, values: dict[str, str]) -> str:
        blob = json.dumps([self.model.name, prompt.tag, self.seed, values], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    async def run(self, rubric_name: str, **values: str) -> JudgeResult:
        """Ask the judge with one rubric; cached, validated, re-asked once, counted in the case's ledger."""
        rubric = RUBRICS[rubric_name]
        prompt = self.prompts.resolve(self.tenant, rubric.prompt_name)
        key = self._key(prompt, values)
        ledger = current_ledger.get()
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                if ledger is not None:
                    ledger.calls += 1
                    ledger.cached += 1
                return JudgeResult(hit, cached=True)
        async with self._sem:
            data, usage, cost = await self._ask(rubric, prompt, rubric.render(prompt, **values))
        if self._cache is not None:
            self._cache.put(key, data)
        return JudgeResult(data, cached=False, usage=usage, cost_usd=cost)

    def _account(self, response_usage: Usage, response_cost: float | None) -> None:
        """Bill one model reply (valid or not: an invalid reply costs the same) to the run and the case."""
        self.calls += 1
        self.spent_usd += response_cost or 0.0
        ledger = current_ledger.get()
        if ledger is not None:
            ledger.calls += 1
            ledger.input_tokens += response_usage.input_tokens
            ledger.output_tokens += response_usage.output_tokens
            ledger.cost_usd += response_cost or 0.0
            ledger.cost_unknown += response_cost is None

    async def _ask(
        self, rubric: Rubric, version: PromptVersion, prompt: str
    ) -> tuple[dict[str, Any], Usage, float | None]:
        messages: tuple[Message, ...] = (Message("system", SYSTEM), Message("user", prompt))
        usage = Usage()
        cost: float | None = 0.0
        error = ""
        for attempt in range(2):
            if self.budget_usd is not None and self.spent_usd >= self.budget_usd:
                raise BudgetExceeded("eval judge", remaining=max(self.budget_usd - self.spent_usd, 0.0), resets_at=0)
            request = ChatRequest(
                model=self.model.name,
                messages=messages,
                temperature=0.0,
                seed=self.seed,
                max_tokens=self.max_tokens,
                response_format=ResponseFormat(json_schema=rubric.schema, name=rubric.name),
                context=RequestContext(tenant=self.tenant, prompt=version.ref),
            )
            response = await self.model.chat(request)
            self._account(response.usage, response.cost_usd)
            usage = usage + response.usage
            cost = None if cost is None or response.cost_usd is None else cost + response.cost_usd
            try:
                return _parse(response.text, rubric), usage, cost
            except ValueError as exc:
                error = str(exc)
                if attempt == 0:
                    messages = (
                        *messages,
                        Message("assistant", response.text),
                        Message(
                            "user",
                            f"That reply is invalid: {error}. Reply again with only a JSON "
                            f"object that matches the requested format.",
                        ),
                    )
        raise JudgeOutputError(rubric.name, error, provider=self.model.name)

    async def pairwise(self, question: str, answer_1: str, answer_2: str) -> tuple[str, str]:
        """Which answer is better: ``"1"``, ``"2"`` or ``"tie"``, and the reasons. Asked in both orders; a side wins
        only when both orders pick it (position bias turns into a tie, not a win)."""
        first = await self.run("pairwise", question=question, answer_a=answer_1, answer_b=answer_2)
        second = await self.run("pairwise", question=question, answer_a=answer_2, answer_b=answer_1)
        pick_1 = {"A": "1", "B": "2"}.get(first.data["winner"], "tie")
        pick_2 = {"A": "2", "B": "1"}.get(second.data["winner"], "tie")
        verdict = pick_1 if pick_1 == pick_2 else "tie"
        return verdict, f"order 1-2: {first.data['reason']} | order 2-1: {second.data['reason']}"

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    async def aclose(self) -> None:
        """Close the cache and the model (its HTTP connections), from inside the event loop that used it."""
        self.close()
        await self.model.aclose()
