"""``POST /v1/extract``: structured data from a text, or from a stored document the key may read, into a schema.

The body gives a JSON Schema (an object schema, at most 64,000 characters) and either ``text`` or a ``doc_id`` of the
knowledge base; ``examples`` are few-shot examples (``{"text", "output"}``, each checked against the schema), of
which the ``k`` nearest to each chunk by embedding similarity are shown to the model. The model is one that
``GET /v1/models`` lists (default ``[agent].model``, else the first of ``gateway.chain``); its calls go through the
service's one gateway with the key's tenant, so budgets and the usage ledger apply.

A ``doc_id`` is read as the key: another tenant's document, or one whose tags the key may not read, is a 404, as
for ``GET /v1/documents/{doc_id}``. Value spans (``start``/``end``) are offsets into the text extracted from: the
request's ``text``, or the stored document's text as ``get_document`` returns it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragwright.extract.examples import parse_example
from ragwright.extract.extractor import ExtractOptions
from ragwright.extract.schema import ExtractionSchema
from ragwright.extract.service import extract_model_name, make_extractor, text_document
from ragwright.interfaces.http.auth import Principal, get_state, require_read
from ragwright.interfaces.http.errors import ApiError
from ragwright.interfaces.http.schemas import ERRORS, KbName
from ragwright.interfaces.mcp.schemas import GetDocumentArgs
from ragwright.interfaces.mcp.tools import RagTools, ToolFailure
from ragwright.redact import quote_id

router = APIRouter(tags=["extraction"])
Reader = Annotated[Principal, Depends(require_read)]
MAX_TEXT = 200_000
MAX_CHUNKS = 8
"""Chunks of one request's text sent to the model (each may be re-asked): the rest is reported as ``chunks_skipped``."""


class ExampleIn(BaseModel):
    """One few-shot example."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    output: dict[str, Any]
    id: str = Field("", max_length=200)


class ExtractIn(BaseModel):
    """The body of ``POST /v1/extract``: a schema and ``text`` or ``doc_id``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    json_schema: dict[str, Any] = Field(alias="schema", description="A JSON Schema of an object (its fields).")
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    doc_id: str | None = Field(None, min_length=1, max_length=1024)
    knowledge_base: KbName = "default"
    examples: list[ExampleIn] = Field(default_factory=list, max_length=50)
    k: int = Field(2, ge=0, le=8)
    max_reasks: int = Field(2, ge=0, le=5)
    model: str | None = Field(None, max_length=200, description="A model GET /v1/models lists.")

    @model_validator(mode="after")
    def _one_source(self) -> ExtractIn:
        if (self.text is None) == (self.doc_id is None):
            raise ValueError("give exactly one of text or doc_id")
        return self


@router.post("/v1/extract", responses=ERRORS)
async def extract(body: ExtractIn, request: Request, principal: Reader) -> dict[str, Any]:
    """Extract the schema's fields from a text or a stored document; every value comes with its span."""
    state = get_state(request)
    principal.store_tenant(body.knowledge_base)  # a bad name is a 400 before anything runs
    schema = ExtractionSchema(body.json_schema, name=str(body.json_schema.get("title") or "extraction"))
    examples = [parse_example(e.model_dump(), schema, where=f"examples[{i}]") for i, e in enumerate(body.examples)]
    with state.reader() as rw:
        model = extract_model_name(rw, body.model)
        state.chat_model(model)  # only models GET /v1/models lists (UnknownModel otherwise)
        if body.doc_id is not None:
            args = GetDocumentArgs(doc_id=body.doc_id, knowledge_base=body.knowledge_base, max_chars=MAX_TEXT)
            try:
                stored = await RagTools(rw).get_document(principal.key, args)
            except ToolFailure:  # another tenant's, a forbidden tag or none at all: the same 404
                raise ApiError(404, "not_found", f"no document {quote_id(body.doc_id)}") from None
            doc = text_document(body.doc_id, stored["text"])
        else:
            doc = text_document("text", body.text or "")
        options = ExtractOptions(k=body.k, max_reasks=body.max_reasks, max_chunks=MAX_CHUNKS)
        extractor = await asyncio.to_thread(  # embedding the examples is CPU work: off the event loop
            make_extractor,
            rw,
            schema,
            examples=examples,
            options=options,
            context=principal.caller(body.knowledge_base),
            chat=state.gateway.relayed(model),
        )
        result = await extractor.extract(doc)
    return {"object": "extraction", "model": model, "knowledge_base": body.knowledge_base, **result.to_dict()}
