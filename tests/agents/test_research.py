"""The research agent with the scripted fake model: sub-queries over two knowledge bases, claims checked like
``ask``'s sentences, what could not be found, limits, tags, and the research metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ragwright.agents.records import CallStatus, RunLimits, RunStatus
from ragwright.agents.tools import ToolContext
from ragwright.app import Ragwright
from ragwright.documents.loaders import load_file
from ragwright.errors import AgentRunError
from ragwright.evals.research_eval import ResearchCase, research_scores
from ragwright.gateway.build import SyncGateway
from ragwright.gateway.types import ChatRequest
from ragwright.ingest.pipeline import Ingestor
from ragwright.interfaces.mcp.access import local_key
from ragwright.research import ClaimStatus, check_report, research
from ragwright.research.service import research_runner
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.conftest import write

WARRANTY = "# Warranty\n\nThe kettle warranty lasts 3 years from purchase.\n"
SECRET = "# Margins\n\nThe kettle margin memo says 42 percent.\n"
DESCALE = "# Descaling\n\nDescale the kettle every month with citric acid.\n"


def put(rw: Ragwright, tmp: Path, tenant: str, name: str, text: str, tags: tuple[str, ...] = ()) -> None:
    doc = load_file(write(tmp / "src" / tenant / name, text), name, max_bytes=1 << 20, tags=tags)
    Ingestor(rw.store, rw.embedder, rw.settings).ingest_documents([doc], tenant=tenant)


def numbers(request: ChatRequest) -> dict[str, int]:
    """Passage number by source file, read from the report prompt."""
    text = request.messages[-1].content or ""
    return {src: int(n) for n, src in re.findall(r"^\[(\d+)\] \(([^)]+)\)", text, re.M)}


def scripted(request: ChatRequest) -> str:
    system = request.messages[0].content or ""
    if "plan research" in system:
        return json.dumps({"sub_queries": ["kettle warranty years", "descale kettle citric acid"]})
    n = numbers(request)
    claims = [
        {"text": "The kettle warranty lasts 3 years from purchase.", "cite": [n["warranty.md"]]},
        {"text": "Descale the kettle every month with citric acid.", "cite": [n["warranty.md"]]},  # wrong number
        {"text": "The kettle is made of titanium.", "cite": [n["warranty.md"]]},  # nothing says so
    ]
    return json.dumps(
        {"title": "Kettle care", "sections": [{"heading": "Findings", "claims": claims}], "not_found": ["the price"]}
    )


@pytest.fixture
def world(rw: Ragwright, tmp_path: Path) -> tuple[Ragwright, FakeChatModel]:
    model = FakeChatModel(scripted, name="fake:research")
    rw._gateway = SyncGateway(ScriptedGateway({"fake:research": model}))  # the process's one gateway, scripted
    put(rw, tmp_path, "acme", "warranty.md", WARRANTY, ("public",))
    put(rw, tmp_path, "acme", "margins.md", SECRET, ("internal",))
    put(rw, tmp_path, "acme.support", "descale.md", DESCALE, ("public",))
    put(rw, tmp_path, "other", "other.md", "# Other\n\nThe kettle warranty of the other tenant is 9 years.\n")
    return rw, model


async def test_research_searches_every_kb_and_checks_each_claim(world: tuple[Ragwright, FakeChatModel]) -> None:
    rw, model = world
    outcome = await research(
        rw, "How long is the kettle warranty and how do I descale it?", ToolContext(local_key("acme")),
        kbs=["default", "support"], model="fake:research",
    )  # fmt: skip
    run, report = outcome.run, outcome.report
    assert run.status is RunStatus.DONE and model.calls == 2  # one plan, one report
    calls = research_runner(rw, model="fake:research").store.calls(run.id)
    assert [(c.name, c.arguments["knowledge_base"], c.status) for c in calls] == [
        ("search", "default", CallStatus.DONE),
        ("search", "support", CallStatus.DONE),
    ] * 2
    sources = {p.source for p in report.passages}
    assert {"warranty.md", "descale.md"} <= sources and "other.md" not in sources  # this tenant only
    warranty, descale, titanium = (next(c for c in report.claims if w in c.text) for w in ("3", "citric", "titan"))
    n = {p.source: p.n for p in report.passages}
    assert warranty.status is ClaimStatus.SUPPORTED and warranty.citations == [n["warranty.md"]]
    assert descale.status is ClaimStatus.RECITED and descale.citations == [n["descale.md"]]
    assert titanium.status is ClaimStatus.UNSUPPORTED and titanium in report.unsupported
    assert report.citation_precision == pytest.approx(1 / 3)
    assert report.not_found == ["the price"]
    md = report.to_markdown()
    assert "## Could not find" in md and "- the price" in md and "titanium" in md.split("## Dropped")[1]
    # the passages reached the model fenced as data
    assert "<<<PASSAGES" in (model.requests[1].messages[-1].content or "")

    case = ResearchCase(
        id="kettle",
        task="warranty and descaling",
        reference_calls=[
            {"name": "search", "args": {"query": "warranty"}},
            {"name": "search", "args": {"query": "descale"}},
        ],
        reference_facts=["The warranty lasts 3 years.", "Descale it with citric acid.", "It costs 80 euros."],
        expect_not_found=True,
    )  # fmt: skip
    scores = research_scores(case, outcome, calls, rw.embedder)
    assert scores["tool_recall"].value == 1.0 and scores["tool_precision"].value == 0.5  # one search per kb each
    assert scores["wasted_calls"].value == 2.0 and scores["steps"].value == 2.0
    assert scores["coverage"].value == pytest.approx(2 / 3)
    assert scores["claim_citation_precision"].value == pytest.approx(1 / 3)
    assert scores["claims_kept"].value == pytest.approx(2 / 3) and scores["not_found_honest"].value == 1.0


async def test_a_tag_limited_key_researches_only_what_it_may_read(world: tuple[Ragwright, FakeChatModel]) -> None:
    rw, _ = world
    key = local_key("acme", scopes=("read",))
    public = local_key("acme", scopes=("read",), tags=("public",))
    outcome = await research(rw, "kettle margin memo", ToolContext(public), model="fake:research")
    assert "margins.md" not in {p.source for p in outcome.report.passages}
    unrestricted = await research(rw, "kettle margin memo", ToolContext(key), model="fake:research")
    assert "margins.md" in {p.source for p in unrestricted.report.passages}


async def test_limits_stop_a_research_run(world: tuple[Ragwright, FakeChatModel]) -> None:
    rw, _ = world
    with pytest.raises(AgentRunError, match="max_tool_calls"):
        await research(
            rw, "warranty?", ToolContext(local_key("acme")), kbs=["default", "support"], model="fake:research",
            limits=RunLimits(max_tool_calls=2),
        )  # fmt: skip


def test_a_report_that_is_not_json_is_malformed_and_says_nothing_was_found() -> None:
    report = check_report("Q?", "I think the answer is 3 years.", [], None)
    assert report.malformed and report.not_found == ["Q?"] and report.sections == []
    assert report.unsupported[0].failure == "not JSON" and report.citation_precision == 0.0


def test_claims_in_odd_shapes_are_read(world: Any) -> None:
    raw = json.dumps({"claims": ["bare claim"], "sections": [{"claims": [{"text": "x", "cite": 1}]}], "not_found": []})
    report = check_report("Q?", raw, [], None)
    assert [c.text for c in report.claims] == ["x", "bare claim"] and all(c.cited in ([1], []) for c in report.claims)


def test_the_report_prompt_shows_passages_within_its_budget() -> None:
    from ragwright.gateway.types import Message, ToolCall
    from ragwright.research import ResearchPlanner

    passages = [{"n": i, "source": f"d{i}.md", "heading": "", "page": None, "text": "w " * 300} for i in range(1, 6)]
    body = json.dumps({"query": "q", "passages": passages})
    messages = [
        Message("assistant", None, tool_calls=(ToolCall("s", "search", json.dumps({"query": "q"})),)),
        Message("tool", f"<<<TOOL OUTPUT b>>>\n{body}\n<<<END TOOL OUTPUT b>>>", tool_call_id="s", name="search"),
    ]
    planner = ResearchPlanner(FakeChatModel([]), passage_chars=1_300, max_passages=4)
    assert [p.n for p in planner.shown(messages)] == [1, 2]  # 600 characters each: a third would pass 1,300
    assert [p.n for p in ResearchPlanner(FakeChatModel([]), max_passages=4).shown(messages)] == [1, 2, 3, 4]
