"""Trajectory metrics and `eval agent`: an oracle, a wasteful and a giving-up agent over a real index, scored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragwright.agents import AgentRunner, RunStore, Toolbox
from ragwright.agents.kb_tools import kb_tools
from ragwright.agents.records import CallRecord, CallStatus, RunLimits, RunStatus
from ragwright.agents.store import RunState
from ragwright.app import Ragwright
from ragwright.config import Settings
from ragwright.errors import UserError
from ragwright.evals.agent_eval import load_agent_cases, run_agent_eval
from ragwright.evals.summary import LOWER_IS_BETTER
from ragwright.evals.trajectory import AgentCase, trajectory_scores
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.testing import FakeChatModel
from ragwright.testing.fake_chat import Reply
from tests.conftest import write

KEY = local_key("default")
GOLDEN = Path(__file__).resolve().parents[2] / "examples" / "agent_tasks.jsonl"


def rec(name: str, status: CallStatus = CallStatus.DONE, **args: object) -> CallRecord:
    return CallRecord("r", f"c{len(args)}{name}", name, dict(args), status, 1)


def finished(answer: str, status: RunStatus = RunStatus.DONE) -> RunState:
    run = RunState("r", "t", "m", KEY, "default", [], "all", limits=RunLimits())
    run.status, run.answer = status, answer
    return run


def test_metrics_on_a_hand_made_trajectory() -> None:
    case = AgentCase.model_validate(
        {
            "id": "x",
            "task": "t",
            "reference_calls": [
                {"name": "search", "args": {"query": "Q2"}},
                {"name": "search", "args": {"query": "Q8"}},
            ],
            "outcome": {"contains": ["349"], "absent": ["I don't know"]},
        }
    )
    calls = [
        rec("search", query="price of the Q8"),
        rec("get_document", doc_id="nope.md"),
        rec("search", query="q2 price"),
    ]
    s = trajectory_scores(case, finished("The Q2 costs 349 US dollars."), calls)
    assert s["tool_precision"].value == pytest.approx(2 / 3) and s["tool_recall"].value == 1.0
    assert s["tool_f1"].value == pytest.approx(0.8) and s["wasted_calls"].value == 1.0
    assert s["tool_order"].value == 0.5  # Q8 came before Q2
    assert s["goal_success"].value == 1.0 and "recovered" not in s
    assert trajectory_scores(case, finished("I don't know, maybe 349"), calls)["goal_success"].value == 0.0
    stopped = trajectory_scores(case, finished("349", RunStatus.STOPPED), calls)
    assert stopped["goal_success"].value == 0.0 and "stopped" in stopped["goal_success"].reason
    failed = finished("", RunStatus.FAILED)
    failed.error = "ProviderTimeout: local:m: no total within 120s"
    assert "ProviderTimeout" in trajectory_scores(case, failed, [])["goal_success"].reason  # why, not just "failed"
    assert {"wasted_calls", "steps", "tokens", "cost_usd"} <= LOWER_IS_BETTER


def test_golden_set_is_well_formed() -> None:
    cases = load_agent_cases(GOLDEN)
    assert len(cases) >= 30 and len({c.id for c in cases}) == len(cases)
    held = [c for c in cases if "heldout" in c.tags]
    assert len(held) >= 6 and all(("dev" in c.tags) != ("heldout" in c.tags) for c in cases)
    tools = {"search", "answer", "get_document"}
    assert all(r.name in tools for c in cases for r in c.reference_calls)
    assert any(c.inject_error for c in held) and any(c.inject_error for c in cases if "dev" in c.tags)
    bad = GOLDEN.parent / "nonexistent.jsonl"
    with pytest.raises(UserError, match="cannot read dataset"):
        load_agent_cases(bad)


def _oracle(req: ChatRequest) -> Reply | str:
    """Calls the reference tools the task names (from a lookup the test gives it), retries a failure, then answers
    with the text of the last tool result."""
    results = [m.content or "" for m in req.messages if m.role == "tool"]
    task = next(m.content for m in req.messages if m.role == "user") or ""
    query = re.sub(r"[^A-Za-z0-9 -]", "", task)
    if not results or results[-1].count("ERROR:"):
        n = len(results)
        return Reply(tool_calls=(ToolCall(f"c{n}", "search", json.dumps({"query": query})),))
    return "From the documents: " + results[-1][-800:]


def _wanderer(req: ChatRequest) -> Reply | str:
    n = sum(1 for m in req.messages if m.role == "tool")
    if n < 3:
        return Reply(tool_calls=(ToolCall(f"w{n}", "get_document", json.dumps({"doc_id": f"missing-{n}.md"})),))
    return "I could not find it."


def _quitter(req: ChatRequest) -> Reply | str:
    if not any(m.role == "tool" for m in req.messages):
        return Reply(tool_calls=(ToolCall("q0", "search", json.dumps({"query": "reset button"})),))
    return "The search failed, so I cannot say."


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Ragwright:
    write(tmp_path / "docs/pricing.md", "# Pricing\n\nThe Quillfin Vault Q2 costs 349 US dollars.\n")
    write(tmp_path / "docs/reset.md", "# Reset\n\nHold the reset button for 12 seconds to factory reset.\n")
    rw = Ragwright(settings)
    rw.ingest([tmp_path / "docs"])
    return rw


async def _score(app: Ragwright, tmp_path: Path, script: object, cases: list[AgentCase], name: str) -> dict[str, float]:
    store = RunStore(tmp_path / f"{name}.sqlite")
    model = FakeChatModel(script, name="fake:agent")  # type: ignore[arg-type]
    run = await run_agent_eval(
        cases,
        runner_for=lambda case: AgentRunner(model, Toolbox.of(kb_tools(RagTools(app))), store),
        key=KEY,
        model="fake:agent",
        out=tmp_path / f"{name}.json",
    )
    assert json.loads((tmp_path / f"{name}.json").read_text())["format"] == "ragwright-eval-run/1"
    return {k: m.mean for k, m in run.summary.metrics.items() if m.mean is not None}


async def test_eval_agent_tells_a_good_agent_from_bad_ones(app: Ragwright, tmp_path: Path) -> None:
    cases = [
        AgentCase.model_validate(c)
        for c in (
            {"id": "price", "task": "Quillfin Vault Q2 price",
             "reference_calls": [{"name": "search", "args": {"query": "Q2"}}], "outcome": {"contains": ["349"]}},
            {"id": "reset", "task": "reset button seconds",
             "reference_calls": [{"name": "search", "args": {"query": "reset"}}] * 2,
             "outcome": {"contains": ["12 seconds"]}, "inject_error": {"tool": "search", "call": 1}},
        )
    ]  # fmt: skip
    good = await _score(app, tmp_path, _oracle, cases, "good")
    assert good["goal_success"] == 1.0 and good["tool_f1"] == 1.0 and good["recovered"] == 1.0
    assert good["wasted_calls"] == 0.0
    bad = await _score(app, tmp_path, _wanderer, cases, "bad")
    assert bad["goal_success"] == 0.0 and bad["tool_f1"] == 0.0 and bad["wasted_calls"] == 3.0
    quit_ = await _score(app, tmp_path, _quitter, cases, "quit")
    assert quit_["recovered"] == 0.0 and quit_["goal_success"] < 1.0
    app.close()
