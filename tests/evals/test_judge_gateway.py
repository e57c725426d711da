"""`eval run` with a judge configured in ragwright.toml, built by the gateway and reached over real HTTP: a loopback
OpenAI-compatible server whose replies are computed from the judge prompt by the scripted judge."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwright.gateway.types import ChatRequest, Message
from ragwright.interfaces.cli.evals import eval_app
from ragwright.testing.loopback_http import Plan, Received, Reply
from ragwright.testing.provider_servers import OpenAIServer
from tests.evals.conftest import scripted_judge, squad_json


class JudgeServer(OpenAIServer):
    """Answers each chat completion as the scripted judge would, from the prompt it receives."""

    def respond(self, request: Received, plan: Plan) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        messages = body.get("messages") or []
        if request.method == "POST" and messages:
            prompt = str(messages[-1].get("content") or "")
            text = scripted_judge(ChatRequest(model="x", messages=(Message("user", prompt),)))
            plan = Plan(text=text)
        return super().respond(request, plan)


def test_eval_run_with_a_gateway_judge_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("RAGWRIGHT_")]:
        monkeypatch.delenv(key)
    squad_json(tmp_path / "squad.json")
    cli = CliRunner()
    assert cli.invoke(eval_app, ["import", "squad", "squad.json", "--out", "cases.jsonl"]).exit_code == 0
    (tmp_path / "prices.toml").write_text('["loop:judge-1"]\ninput = 1000.0\noutput = 2000.0\n')
    with JudgeServer() as server:
        (tmp_path / "eval.toml").write_text(
            f'data_dir = "idx"\n[embedding]\nmodel = "fake"\n[gateway]\njudge = "loop:judge-1"\n'
            f'prices_file = "prices.toml"\n[gateway.providers.loop]\nkind = "openai"\n'
            f'base_url = "{server.base_url}"\n'
        )
        first = cli.invoke(
            eval_app,
            ["run", "cases.jsonl", "--config", "eval.toml", "--ingest", "cases.corpus.jsonl", "--out", "runs/a.json"],
        )
        assert first.exit_code == 0, first.output
        calls = server.request_count
        run = json.loads((tmp_path / "runs/a.json").read_text())
        again = cli.invoke(eval_app, ["run", "cases.jsonl", "--config", "eval.toml", "--out", "runs/b.json"])
        assert again.exit_code == 0, again.output
        assert server.request_count == calls  # warm judge cache: the re-run sends nothing to the provider
        sent = server.requests[0].body
    assert run["config"]["judge"] == "loop:judge-1" and run["judge_note"] is None
    metrics = run["summary"]["metrics"]
    assert metrics["faithfulness"]["n"] == 8 and metrics["faithfulness"]["errors"] == 0
    assert metrics["faithfulness"]["mean"] == 1.0 and metrics["citation_precision"]["mean"] == 1.0
    assert 0 < metrics["answer_relevance"]["mean"] < 1
    assert calls == run["summary"]["judge"]["calls"] == 8 * 4
    assert run["summary"]["judge"]["cost_usd"] > 0 and run["summary"]["judge"]["cost_unknown_calls"] == 0
    assert sent["temperature"] == 0 and sent["seed"] == 0 and sent["response_format"]["type"] == "json_schema"
    rerun = json.loads((tmp_path / "runs/b.json").read_text())
    assert rerun["summary"]["metrics"] == metrics and rerun["summary"]["judge"]["cost_usd"] == 0
