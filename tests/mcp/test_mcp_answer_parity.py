"""The MCP ``answer`` tool's result carries what ``POST /v1/answer`` carries beside the text: the calibrated
``answerability``, the versioned ``prompt`` a model wrote with and the ``trace_id`` of the call, under the HTTP
response's names and shapes (``AnswerOut``), through the official MCP client."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.gateway.build import SyncGateway
from ragwright.interfaces.http.schemas import AnswerOut, PromptRefOut
from ragwright.interfaces.mcp.access import local_key
from ragwright.interfaces.mcp.ratelimit import KeyRateLimiter
from ragwright.interfaces.mcp.server import build_server, fixed_key
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.mcp.conftest import build_env

PARITY = ("answerability", "prompt", "trace_id")


async def test_the_answer_tool_carries_answerability_prompt_and_trace_id(
    tmp_path: Path, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in __import__("os").environ if k.startswith("RAGWRIGHT_")]:
        monkeypatch.delenv(name)
    env = build_env(tmp_path)
    settings = load_settings(data_dir=env.data_dir, embedding={"model": "fake"}, answer={"generator": "gateway"})
    writer = FakeChatModel(lambda _: "The kettle has a warranty of 3 years [1].", name="fake:writer")
    gateway = SyncGateway(ScriptedGateway({"default": writer}))
    rw = Ragwright(settings, gateway=gateway)
    server = build_server(RagTools(rw), fixed_key(local_key("acme", tags=("public",))), KeyRateLimiter(None))
    try:
        async with Client(server) as client:
            answered = await client.call_tool("answer", {"question": "How long is the kettle warranty?"})
            nothing = await client.call_tool("answer", {"question": "kettle?", "tags": ["internal"]})
    finally:
        rw.close()
        gateway.close()
    assert not answered.is_error and not nothing.is_error
    data = answered.structured_content
    assert data is not None and "3 years" in data["answer"] and data["answered_by"] == "gateway"
    assert set(PARITY) <= AnswerOut.model_fields.keys()  # the HTTP response's names
    assert isinstance(data["answerability"], float) and 0.0 <= data["answerability"] <= 1.0
    assert PromptRefOut.model_validate(data["prompt"]) == PromptRefOut(name="answer", version="1")
    tool_span = next(s for s in spans.get_finished_spans() if s.name == "execute_tool answer")
    assert tool_span.context is not None and data["trace_id"] == format(tool_span.context.trace_id, "032x")
    # a request for tags the key may not read abstains at once: the same fields, empty
    empty = nothing.structured_content
    assert empty is not None and empty["abstained"] and all(f in empty for f in PARITY)
    assert (empty["answerability"], empty["prompt"]) == (None, None) and len(empty["trace_id"]) == 32
