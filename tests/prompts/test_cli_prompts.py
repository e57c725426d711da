"""`ragwright prompts` and `ragwright eval run --prompt` / `eval compare` as a user runs them (typer's runner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragwright.interfaces.cli.evals import eval_app
from ragwright.interfaces.cli.prompts import prompts_app
from ragwright.prompts.packaged import packaged
from tests.evals.conftest import squad_json


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("RAGWRIGHT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAGWRIGHT_EMBEDDING__MODEL", "fake")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_create_stage_split_and_roll_back(cli: CliRunner, tmp_path: Path) -> None:
    listed = cli.invoke(prompts_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {p["name"] for p in json.loads(listed.stdout)} >= {"answer", "condense", "judge_support", "agent"}
    assert not (tmp_path / ".ragwright").exists()  # reading the packaged prompts creates no index
    (tmp_path / "v2.txt").write_text("Be brief. Data sits between <<<DATA $boundary>>> lines.\n", encoding="utf-8")
    made = cli.invoke(prompts_app, ["create", "answer", "--file", "v2.txt", "--note", "brief", "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["version"] == 2
    assert (
        cli.invoke(prompts_app, ["label", "answer", "staging", "2"]).stdout.strip()
        == "answer: staging -> v2 (new label)"
    )
    shown = json.loads(cli.invoke(prompts_app, ["show", "answer", "staging", "--json"]).stdout)
    assert shown["version"] == 2 and shown["labels"] == ["latest", "staging"] and shown["note"] == "brief"
    assert "+Be brief." in cli.invoke(prompts_app, ["diff", "answer", "production", "staging"]).stdout
    assert cli.invoke(prompts_app, ["ab", "answer", "2", "10"]).exit_code == 0
    info = next(p for p in json.loads(cli.invoke(prompts_app, ["list", "--json"]).stdout) if p["name"] == "answer")
    assert info["splits"] == [{"label": "production", "version": 2, "percent": 10.0}] and info["customised"]
    assert cli.invoke(prompts_app, ["label", "answer", "production", "2"]).exit_code == 0
    back = cli.invoke(prompts_app, ["label", "answer", "production", "1"])
    assert back.stdout.strip() == "answer: production -> v1 (was v2)"
    assert cli.invoke(prompts_app, ["show", "answer"]).stdout == packaged("answer").template
    other = cli.invoke(prompts_app, ["show", "answer", "2", "--tenant", "other"])
    assert other.exit_code != 0 and "no version 2" in str(other.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "answer", "--file", "t.txt", "--var", "boundary", "--var", "tone"], "never uses: tone"),
        (["create", "greeting", "--file", "t.txt"], "uses undeclared variables: boundary"),
        (["label", "answer", "latest", "1"], "'latest' label follows the newest version"),
        (["label", "answer", "production", "9"], "no version 9"),
        (["ab", "answer", "1", "150"], "between 0 and 100"),
        (["show", "nope"], "no prompt named 'nope'"),
    ],
)
def test_bad_input_is_refused_with_the_reason(cli: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "t.txt").write_text("Short. $boundary\n", encoding="utf-8")
    result = cli.invoke(prompts_app, args)
    assert result.exit_code != 0 and message in str(result.exception)


def test_eval_compare_shows_two_prompt_versions_side_by_side(cli: CliRunner, tmp_path: Path) -> None:
    squad_json(tmp_path / "squad.json")
    assert cli.invoke(eval_app, ["import", "squad", "squad.json", "--out", "cases.jsonl"]).exit_code == 0
    base = ["run", "cases.jsonl", "--data-dir", "idx", "--limit", "3"]
    done = cli.invoke(eval_app, [*base, "--ingest", "cases.corpus.jsonl", "--out", "runs/v1.json"])
    assert done.exit_code == 0, done.output
    (tmp_path / "v2.txt").write_text("Be brief. <<<DATA $boundary>>>\n", encoding="utf-8")
    assert cli.invoke(prompts_app, ["create", "answer", "--file", "v2.txt", "--data-dir", "idx"]).exit_code == 0
    done = cli.invoke(eval_app, [*base, "--prompt", "answer=latest", "--out", "runs/v2.json"])
    assert done.exit_code == 0, done.output
    bad = cli.invoke(eval_app, [*base, "--prompt", "answer", "--out", "runs/x.json"])
    assert bad.exit_code != 0 and "NAME=VERSION" in str(bad.exception)
    compared = json.loads(cli.invoke(eval_app, ["compare", "runs/v1.json", "runs/v2.json", "--json"]).stdout)
    changed = [p for p in compared["prompts"] if p["changed"]]
    assert [(p["name"], p["base"][:10], p["new"][:10]) for p in changed] == [("answer", "answer/v1#", "answer/v2#")]
    table = cli.invoke(eval_app, ["compare", "runs/v1.json", "runs/v2.json"]).stdout
    assert "prompt versions" in table and "changed" in table
