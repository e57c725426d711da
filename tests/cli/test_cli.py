"""The `ragwright` command end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWRIGHT_")}
    full_env.update({"RAGWRIGHT_EMBEDDING__MODEL": "fake", **env})
    return subprocess.run(
        [sys.executable, "-m", "ragwright", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,  # never a terminal: a command that would prompt there behaves as in CI
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write(
        tmp_path / "docs/kettle.md",
        "# Kettle\n\n## Warranty\n\nThe kettle has a warranty of 3 years.\n\n"
        "## Cleaning\n\nDescale the kettle monthly with citric acid.\n",
    )
    write(
        tmp_path / "docs/faq.html",
        "<html><head><title>FAQ</title></head><body><nav>Home | Shop</nav><main>"
        "<h1>FAQ</h1><h2>Shipping</h2><p>Orders ship within two business days from Rotterdam.</p></main>"
        "<footer>Copyright Kettle Co</footer></body></html>",
    )
    (tmp_path / "docs/broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    return tmp_path


def test_ingest_search_ask_json(corpus: Path) -> None:
    ing = run(["ingest", "docs", "--json"], corpus)
    assert ing.returncode == 0, ing.stderr
    summary = json.loads(ing.stdout)
    assert summary["added"] == 2 and summary["failed"] == 1
    assert summary["failures"][0]["path"] == "docs/broken.pdf" and summary["failures"][0]["reason"]

    strict = run(["ingest", "docs", "--strict", "--json"], corpus)
    assert strict.returncode == 1 and json.loads(strict.stdout)["unchanged"] == 2

    found = json.loads(run(["search", "warranty years", "--k", "3", "--json"], corpus).stdout)
    assert found["hits"][0]["doc_path"] == "docs/kettle.md"
    assert found["hits"][0]["heading_path"][-1] == "Warranty"
    assert set(found["timings_ms"]) >= {"keyword", "embed", "vector", "fuse", "total"}

    only_html = json.loads(run(["search", "kettle", "--type", "html", "--json"], corpus).stdout)
    assert {h["doc_path"] for h in only_html["hits"]} == {"docs/faq.html"}

    answer = json.loads(run(["ask", "How long is the kettle warranty?", "--json"], corpus).stdout)
    assert answer["abstained"] is False
    assert "3 years" in answer["text"] and "[1]" in answer["text"]
    cite = answer["citations"][0]
    assert cite["doc_path"] == "docs/kettle.md" and cite["heading_path"][-1] == "Warranty"
    source = (corpus / "docs/kettle.md").read_text(encoding="utf-8")
    assert "3 years" in cite["snippet"] and cite["snippet"] in source
    assert set(answer["timings_ms"]) >= {"retrieve.total", "evidence", "answer"}

    nothing = json.loads(run(["ask", "Who painted the Mona Lisa in Florence?", "--json"], corpus).stdout)
    assert nothing["abstained"] is True and nothing["citations"] == [] and nothing["closest"]
    assert nothing["answered_by"] == "abstained" and nothing["abstention"] == "weak_evidence"
    assert "do not contain" in nothing["text"]


def test_human_output_shows_citation_locations(corpus: Path) -> None:
    run(["ingest", "docs"], corpus)
    out = run(["ask", "Where do orders ship from?"], corpus)
    assert out.returncode == 0, out.stderr
    assert "Rotterdam" in out.stdout and "[1] docs/faq.html › FAQ › Shipping" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ingest", "does-not-exist"], "no such file"),
        (["search", "anything"], "run `ragwright ingest"),
        (["search", "x", "--mode", "fuzzy"], "--mode"),
        (["ask", "x", "--generator", "gpt"], "--generator"),
        (["search", "   "], "empty"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    if args[:2] == ["search", "   "]:
        write(tmp_path / "d/a.md", "# A\n\ntext")
        run(["ingest", "d"], tmp_path)
    result = run(args, tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_config_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "ragwright.toml").write_text("[retrieval]\nmode = 'psychic'\n", encoding="utf-8")
    result = run(["search", "x"], tmp_path)
    assert result.returncode == 2 and "retrieval.mode" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["ingest", "[/docs]"], ["keys", "revoke", "[/k1]"]])
def test_error_messages_are_printed_as_written_not_as_markup(tmp_path: Path, args: list[str]) -> None:
    """A path or key id with square brackets comes back in the one-line error as typed (it used to be parsed as rich
    markup: a closing tag crashed with a MarkupError traceback, other brackets vanished)."""
    result = run(args, tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and args[-1] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_text_keeps_config_section_names(tmp_path: Path) -> None:
    """Help that names a config section ("with a [redis] url") shows it; it used to be eaten as rich markup."""
    result = run(["keys", "revoke", "--help"], tmp_path)
    assert result.returncode == 0 and "[redis] url" in " ".join(result.stdout.replace("│", " ").split())


@pytest.mark.parametrize(
    ("env", "says"),
    [({}, "the ingest queue is off"), ({"RAGWRIGHT_QUEUE__ENABLED": "true"}, "queue.enabled needs the PostgreSQL")],
)
def test_worker_without_a_queue_is_a_user_error(tmp_path: Path, env: dict[str, str], says: str) -> None:
    """`ragwright worker` needs [queue] enabled with a PostgreSQL store; the single-host mode never starts one."""
    result = run(["worker"], tmp_path, **env)
    assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
