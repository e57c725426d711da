"""The ``extract`` tool: an agent fills a JSON Schema from a stored document it may read (the structured extractor).

The document is read as the run's caller (``get_document``: tenant and tags), then :mod:`ragwright.extract` runs on
its text through the same gateway, zero-shot, with the bounded re-ask; the result (data, validity, each value's span
in the document's text) is the tool's output.

Example::

    tool = extract_tool(rw)
    await tool.run(ctx, {"doc_id": "inv-17.md", "json_schema": {"type": "object", "properties": {"total": {...}}}})
"""

from __future__ import annotations

from typing import Any

from ragwright.agents.tools import AgentTool, ToolContext, agent_tool
from ragwright.app import Ragwright
from ragwright.extract.extractor import ExtractOptions
from ragwright.extract.schema import ExtractionSchema
from ragwright.extract.service import make_extractor, text_document
from ragwright.gateway.types import RequestContext
from ragwright.interfaces.mcp.schemas import GetDocumentArgs
from ragwright.interfaces.mcp.tools import RagTools

__all__ = ["extract_tool"]

MAX_CHARS = 200_000


def extract_tool(rw: Ragwright, *, model: str | None = None) -> AgentTool:
    """``extract(doc_id, json_schema, knowledge_base?)`` over ``rw``'s documents and gateway."""
    rag = RagTools(rw)

    @agent_tool(
        name="extract",
        description="Fill a JSON Schema (an object schema: its properties are the fields) from one stored document; "
        "returns the data and where in the document each value is.",
    )
    async def extract(
        ctx: ToolContext, doc_id: str, json_schema: dict[str, Any], knowledge_base: str = "default"
    ) -> Any:
        kb = ctx.kb if knowledge_base == "default" else knowledge_base
        args = GetDocumentArgs(doc_id=doc_id, knowledge_base=kb, max_chars=MAX_CHARS)
        stored = await rag.get_document(ctx.key, args)
        caller = RequestContext(tenant=ctx.tenant, key_id=ctx.key.key_id, tags=ctx.key.tags, kb=kb)
        extractor = make_extractor(
            rw, ExtractionSchema(json_schema), model=model, options=ExtractOptions(k=0, max_reasks=1), context=caller
        )
        result = await extractor.extract(text_document(doc_id, stored["text"]))
        out = result.to_dict()
        return {k: out[k] for k in ("source", "data", "valid", "errors", "fields")}

    return extract
