"""The agent's ``extract`` tool: a stored document, read as the run's caller, into a JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.agents import AgentRunner, RunStore, Toolbox, ToolContext
from ragwright.agents.extract_tool import extract_tool
from ragwright.app import Ragwright
from ragwright.documents.loaders import load_file
from ragwright.gateway.build import SyncGateway
from ragwright.gateway.types import ChatRequest, ToolCall
from ragwright.ingest.pipeline import Ingestor
from ragwright.interfaces.mcp.access import local_key
from ragwright.testing import FakeChatModel, ScriptedGateway
from ragwright.testing.fake_chat import Reply
from tests.conftest import write

SCHEMA = {"type": "object", "properties": {"years": {"type": ["string", "null"]}}, "required": ["years"]}


async def test_an_agent_extracts_from_a_document_its_caller_may_read(rw: Ragwright, tmp_path: Path) -> None:
    def extractor_model(request: ChatRequest) -> str:
        return json.dumps({"years": "3" if "3 years" in (request.messages[-1].content or "") else None})

    rw._gateway = SyncGateway(ScriptedGateway({"fake:x": FakeChatModel(extractor_model, name="fake:x")}))
    path = write(tmp_path / "src" / "memo.md", "# Memo\n\nThe kettle warranty is 3 years.\n")
    doc = load_file(path, "memo.md", max_bytes=1 << 20, tags=("internal",))
    Ingestor(rw.store, rw.embedder, rw.settings).ingest_documents([doc], tenant="acme")
    call = ToolCall("e1", "extract", json.dumps({"doc_id": "memo.md", "json_schema": SCHEMA}))
    outputs = {}
    for name, key in [("all", local_key("acme")), ("public", local_key("acme", tags=("public",)))]:
        agent = FakeChatModel([Reply(tool_calls=(call,)), "done"], name="fake:agent")
        runner = AgentRunner(agent, Toolbox.of([extract_tool(rw, model="fake:x")]), RunStore(tmp_path / "a.sqlite"))
        run = runner.new_run("How long is the warranty?", ToolContext(key), model="fake:agent")
        outputs[name] = next(e.data for e in [e async for e in runner.drive(run)] if e.kind == "tool_result")
    assert outputs["all"]["status"] == "done"
    result = json.loads(outputs["all"]["output"])
    assert result["valid"] and result["data"] == {"years": "3"} and result["fields"][0]["start"] is not None
    assert outputs["public"]["status"] == "failed" and "no document 'memo.md'" in outputs["public"]["output"]
