"""An extractor over one :class:`~ragwright.app.Ragwright`: its gateway, its embedder, its prompts.

The CLI (``ragwright extract``) and the HTTP route (``POST /v1/extract``) build their extractor here, so both call
the process's one gateway and pick few-shot examples with the embedder that indexes the knowledge base.

Example::

    extractor = make_extractor(rw, ExtractionSchema.load("invoice.json"), examples=read_examples(path, schema))
    result = await extractor.extract(text_document("pasted", "Invoice 17 ..."))
"""

from __future__ import annotations

from collections.abc import Sequence

from ragwright.app import Ragwright
from ragwright.documents.model import Document, Section, source_hash
from ragwright.extract.examples import Example, ExamplePool
from ragwright.extract.extractor import ExtractOptions, Extractor
from ragwright.extract.schema import ExtractionSchema
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import RequestContext

__all__ = ["extract_model_name", "make_extractor", "text_document"]


def extract_model_name(rw: Ragwright, model: str | None = None) -> str:
    """``model``, else ``[agent].model``, else the first model of ``gateway.chain`` (as agents choose)."""
    return model or rw.settings.agent.model or rw.settings.gateway.chain[0]


def make_extractor(
    rw: Ragwright,
    schema: ExtractionSchema,
    *,
    model: str | None = None,
    examples: Sequence[Example] = (),
    options: ExtractOptions | None = None,
    context: RequestContext | None = None,
    chat: ChatModel | None = None,
) -> Extractor:
    """An extractor calling ``model`` through ``rw``'s gateway (or ``chat``, a model the caller already resolved)."""
    pool = ExamplePool(examples, rw.embedder) if examples else None
    return Extractor(
        chat or rw.gateway.relayed(extract_model_name(rw, model)),
        schema,
        counter=rw.embedder,
        pool=pool,
        options=options,
        prompts=rw.prompt_source,
        context=context or RequestContext(tenant=rw.settings.tenant),
    )


def text_document(doc_id: str, text: str) -> Document:
    """Text given as it is (a request body, a stored document's text): offsets into it are its own positions."""
    return Document(
        doc_id=doc_id,
        source=doc_id,
        file_type="txt",
        title=doc_id,
        text=text,
        sections=[Section(0, len(text))],
        content_hash=source_hash(text.encode()),
    )
