"""The knowledge-base tools of an agent: ``search``, ``answer`` and ``get_document``, acting as the run's caller.

They are the MCP server's operations (:class:`ragwright.interfaces.mcp.tools.RagTools`) with the same argument models,
so an agent reads exactly what its caller's key may read over MCP or HTTP: the key's tenant, and only documents
whose tags the key may see. A call that names no knowledge base uses the run's (``--kb``).

Example::

    box = Toolbox.of(kb_tools(RagTools(app)))
    await box.get("search").run(ToolContext(key=local_key("acme")), {"query": "warranty", "k": 3})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from ragwright.agents.tools import AgentTool, ToolContext
from ragwright.interfaces.mcp.access import DEFAULT_KB
from ragwright.interfaces.mcp.schemas import AnswerArgs, GetDocumentArgs, SearchArgs
from ragwright.interfaces.mcp.tools import RagTools
from ragwright.service.keys import ApiKey

__all__ = ["kb_tools"]


def _tool(
    name: str,
    description: str,
    model: type[BaseModel],
    op: Callable[[ApiKey, Any], Awaitable[dict[str, Any]]],
    shape: Callable[[dict[str, Any]], Any],
) -> AgentTool:
    async def fn(ctx: ToolContext, **values: Any) -> Any:
        if values.get("knowledge_base", DEFAULT_KB) == DEFAULT_KB:
            values["knowledge_base"] = ctx.kb
        return shape(await op(ctx.key, model.model_validate(values)))

    return AgentTool(name, description, fn, model)


def _passages(result: dict[str, Any]) -> dict[str, Any]:
    hits = [
        {
            "n": r["rank"],
            "source": r["citation"]["file"],
            "heading": r["citation"]["heading"],
            "page": r["citation"]["page"],
            "text": r["text"],
        }
        for r in result["results"]
    ]
    return {"query": result["query"], "passages": hits}


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("answer", "abstained", "support", "citations")
    out = {k: result[k] for k in keep}
    out["citations"] = [{k: c[k] for k in ("n", "location", "snippet")} for c in result["citations"]]
    return out


def _document(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("doc_id", "title", "text", "truncated")}


def kb_tools(rag: RagTools) -> list[AgentTool]:
    """``search``, ``answer`` and ``get_document`` over ``rag`` (read-only: none has side effects)."""
    return [
        _tool(
            "search",
            "Search the knowledge base; returns numbered passages with their source.",
            SearchArgs,
            rag.search,
            _passages,
        ),
        _tool(
            "answer",
            "Answer a question from the knowledge base; returns a cited answer, or says the documents do not hold it.",
            AnswerArgs,
            rag.answer,
            _answer,
        ),
        _tool(
            "get_document",
            "Read one document (by the id a search result or citation gave) as text.",
            GetDocumentArgs,
            rag.get_document,
            _document,
        ),
    ]
