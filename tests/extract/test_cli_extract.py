"""`ragwright extract` in a subprocess against a loopback OpenAI-compatible server (JSON mode)."""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.testing.openai_server import OpenAIServer
from tests.cli.test_cli import run
from tests.conftest import write


def test_extract_writes_one_json_line_per_file(tmp_path: Path) -> None:
    write(tmp_path / "schema.json", json.dumps({"type": "object", "properties": {"shop": {"type": "string"}}}))
    write(tmp_path / "a.md", "# Receipt\n\nShop: Kopi\n")
    write(tmp_path / "examples.jsonl", json.dumps({"text": "Shop: Tea", "output": {"shop": "Tea"}}) + "\n")
    with OpenAIServer() as server:
        (tmp_path / "ragwright.toml").write_text(
            '[gateway]\nchain = ["loop:gpt-test"]\nledger = false\n[embedding]\nmodel = "fake"\n'
            f'[gateway.providers.loop]\nkind = "openai"\nbase_url = "{server.base_url}"\napi_key = "env:LOOP_KEY"\n'
        )
        out = run(
            ["extract", "--schema", "schema.json", "--examples", "examples.jsonl", "a.md", "missing.md"],
            tmp_path,
            LOOP_KEY="sk-test",
        )
        assert out.returncode == 0, out.stderr
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        assert [r["source"] for r in rows] == ["a.md", "missing.md"]
        assert rows[0]["valid"] and isinstance(rows[0]["data"]["shop"], str) and rows[0]["examples"] == ["Shop: Tea"]
        assert "error" in rows[1] and "1 of 2 valid · 1 unreadable" in out.stderr
        sent = server.requests[0].body
        assert sent["response_format"]["type"] == "json_schema"  # the schema went to the provider
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    bad = run(["extract", "--schema", "nope:Model", "a.md"], tmp_path)
    assert bad.returncode == 2 and "cannot import nope:Model" in bad.stderr and "Traceback" not in bad.stderr
