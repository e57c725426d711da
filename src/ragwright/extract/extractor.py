"""The structured extractor: a document's text into the user's schema, through the gateway.

For each document :class:`Extractor`

1. cuts it into chunks when it is longer than ``chunk_tokens`` (the ingest chunker, so chunk boundaries fall at
   headings and paragraphs and every chunk keeps its offsets into the document);
2. for each chunk, picks the ``k`` few-shot examples nearest to it by embedding similarity (:mod:`.examples`; fewer
   when the model finds the prompt longer than its context) and asks the model for one JSON object (the packaged
   ``extract`` prompt with the schema; the chunk fenced as data; a ``response_format`` with the schema, which
   providers that enforce JSON Schema apply);
3. validates the reply against the schema; when it is not JSON or does not validate, asks again, showing the model
   its reply and the validation errors, at most ``max_reasks`` times;
4. merges the chunks' results field by field (:mod:`.merge`), validates the merged result, and links every leaf
   value to the range of the document that states it and, through the loader's offset map, of the original file
   (:mod:`.spans`).

Every model call goes through the ``ChatModel`` it is given, which in the CLI and the HTTP service is the process's
one gateway (budgets, retries, fallbacks, the usage ledger).

Example::

    extractor = Extractor(rw.gateway.relayed("openai:gpt-4o-mini"), ExtractionSchema.load("invoice.json"),
                          pool=ExamplePool.load(Path("examples.jsonl"), rw.embedder, schema), counter=rw.embedder)
    result = await extractor.extract(load_file(Path("inv-001.pdf"), "inv-001.pdf", max_bytes=50 << 20))
    result.data, result.valid, [f.to_dict() for f in result.fields]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragwright.answering.injection_prompt import fence
from ragwright.documents.chunker import chunk_document
from ragwright.documents.model import Document
from ragwright.errors import ContextLengthExceeded
from ragwright.extract.examples import Example, ExamplePool
from ragwright.extract.merge import merge_results
from ragwright.extract.schema import ExtractionSchema
from ragwright.extract.spans import FieldValue, field_values
from ragwright.gateway.base import ChatModel
from ragwright.gateway.types import ChatRequest, Message, RequestContext, ResponseFormat
from ragwright.models.base import TokenCounter
from ragwright.prompts.registry import PromptSource, default_registry

__all__ = ["EXTRACT_PROMPT", "ExtractOptions", "ExtractionResult", "Extractor", "parse_reply"]

EXTRACT_PROMPT = "extract"
"""The system prompt's name in the prompt registry (packaged as ``extract_system_v1.txt``)."""


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How one extraction runs: examples per call, re-asks, chunk size, reply size."""

    k: int = 2
    """Few-shot examples per model call (0: zero-shot)."""
    max_reasks: int = 2
    """Re-asks per chunk after a reply that is not valid JSON for the schema."""
    chunk_tokens: int = 1_000
    """A document longer than this (in the counter's tokens) is extracted chunk by chunk."""
    max_chunks: int = 32
    """At most this many chunks of one document are sent (the rest is reported, not silently dropped)."""
    max_tokens: int = 512
    """The reply's token budget."""
    example_chars: int = 8_000
    """The chosen examples' texts and outputs together stay under this many characters, the least similar ones left
    out first: a first cut. What decides is the model's own count: when it reports the prompt longer than its context
    (the gateway's ContextLengthExceeded, with the tokens its tokenizer counted), the least similar example left goes
    and the chunk is asked again, down to zero-shot."""


@dataclass
class ExtractionResult:
    """One document's extraction: the data, whether it follows the schema, each value's source, and the cost."""

    source: str
    data: dict[str, Any] | None
    valid: bool
    errors: list[str] = field(default_factory=list)
    fields: list[FieldValue] = field(default_factory=list)
    chunks: int = 1
    chunks_skipped: int = 0
    calls: int = 0
    reasks: int = 0
    examples: list[str] = field(default_factory=list)
    """The ids (or first words) of the few-shot examples used, per call."""
    tokens: int = 0
    usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "data": self.data,
            "valid": self.valid,
            "errors": self.errors,
            "fields": [f.to_dict() for f in self.fields],
            "chunks": self.chunks,
            "chunks_skipped": self.chunks_skipped,
            "calls": self.calls,
            "reasks": self.reasks,
            "examples": self.examples,
            "tokens": self.tokens,
            "usd": round(self.usd, 6),
        }


def parse_reply(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of a reply (a code fence or words around it are tolerated), or why there is none."""
    body = text.strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None, "the reply holds no JSON object"
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        return None, f"the reply is not valid JSON ({exc.msg} at position {exc.pos - start if exc.pos else 0})"
    if not isinstance(data, dict):
        return None, "the reply must be one JSON object"
    return data, None


@dataclass
class _Outcome:
    data: dict[str, Any] | None
    errors: list[str]
    calls: int = 0
    tokens: int = 0
    usd: float = 0.0
    examples: list[str] = field(default_factory=list)


class Extractor:
    """Extracts one schema from documents with one model (see the module docstring for the steps)."""

    def __init__(
        self,
        model: ChatModel,
        schema: ExtractionSchema,
        *,
        counter: TokenCounter,
        pool: ExamplePool | None = None,
        options: ExtractOptions | None = None,
        prompts: PromptSource | None = None,
        context: RequestContext | None = None,
    ) -> None:
        self.model = model
        self.schema = schema
        self.counter = counter
        self.pool = pool
        self.options = options or ExtractOptions()
        self.prompts = prompts or default_registry()
        self.context = context or RequestContext()

    def _ranges(self, doc: Document) -> list[tuple[int, int]]:
        if self.counter.count_tokens(doc.text) <= self.options.chunk_tokens:
            return [(0, len(doc.text))]
        chunks = chunk_document(doc, self.counter, max_tokens=self.options.chunk_tokens, overlap_tokens=0)
        return [(c.char_start, c.char_end) for c in chunks] or [(0, len(doc.text))]

    async def extract(self, doc: Document) -> ExtractionResult:
        """The schema's data from ``doc`` (never raises for a bad reply: ``valid`` and ``errors`` say)."""
        ranges = self._ranges(doc)
        sent = ranges[: self.options.max_chunks]
        outcomes = [await self._extract_text(doc.text[a:b]) for a, b in sent]
        result = ExtractionResult(doc.doc_id, None, False, chunks=len(ranges), chunks_skipped=len(ranges) - len(sent))
        for o in outcomes:
            result.calls += o.calls
            result.tokens += o.tokens
            result.usd += o.usd
            result.examples.extend(o.examples)
        result.reasks = result.calls - len(outcomes)
        parsed = [(i, o.data) for i, o in enumerate(outcomes) if o.data is not None]
        if not parsed:
            result.errors = outcomes[0].errors if outcomes else ["the document is empty"]
            return result
        if len(outcomes) == 1:
            data, origin = parsed[0][1], {name: 0 for name in parsed[0][1]}
        else:
            data, by_parsed = merge_results([d for _, d in parsed], self.schema.fields)
            origin = {name: parsed[j][0] for name, j in by_parsed.items()}
        result.errors = self.schema.errors(data)
        result.valid = not result.errors
        result.data = self.schema.normalised(data) if result.valid else data
        hints = {name: sent[i] for name, i in origin.items()}
        result.fields = field_values(result.data, doc, hints)
        return result

    def _messages(self, text: str, examples: Sequence[Example]) -> list[Message]:
        prompt = self.prompts.resolve(self.context.tenant, EXTRACT_PROMPT, sticky=self.context.key_id)
        system = prompt.render(schema=json.dumps(self.schema.json_schema, ensure_ascii=False)).strip()
        messages = [Message("system", system)]
        for ex in examples:
            fenced, _ = fence(ex.text, label="DOCUMENT")
            messages.append(Message("user", fenced))
            messages.append(Message("assistant", json.dumps(ex.output, ensure_ascii=False)))
        fenced, _ = fence(text, label="DOCUMENT")
        messages.append(Message("user", fenced))
        return messages

    async def _extract_text(self, text: str) -> _Outcome:
        examples = self.pool.select(text, self.options.k) if self.pool is not None else []
        while examples and sum(len(e.text) + len(json.dumps(e.output)) for e in examples) > self.options.example_chars:
            examples.pop()  # the least similar goes first
        while True:
            try:
                return await self._ask(text, examples)
            except ContextLengthExceeded:
                # the model counted the prompt in its own tokens and it does not fit: the least similar example goes
                # (the character budget above is only a first cut; a tokenizer can need far more tokens per character)
                if not examples:
                    raise
                examples = examples[:-1]

    async def _ask(self, text: str, examples: Sequence[Example]) -> _Outcome:
        messages = self._messages(text, examples)
        out = _Outcome(None, [], examples=[e.id or " ".join(e.text.split()[:3]) for e in examples])
        prompt = self.prompts.resolve(self.context.tenant, EXTRACT_PROMPT, sticky=self.context.key_id)
        ctx = RequestContext(
            tenant=self.context.tenant,
            key_id=self.context.key_id,
            tags=self.context.tags,
            prompt=prompt.ref,
            kb=self.context.kb,
            request_id=self.context.request_id,
        )
        fmt = ResponseFormat(
            json_schema=self.schema.json_schema, name=self.schema.name[:64] or "extraction", strict=False
        )
        for _ in range(1 + self.options.max_reasks):
            request = ChatRequest(
                model=self.model.name,
                messages=tuple(messages),
                response_format=fmt,
                temperature=0.0,
                max_tokens=self.options.max_tokens,
                context=ctx,
            )
            reply = await self.model.chat(request)
            out.calls += 1
            out.tokens += reply.usage.total_tokens
            out.usd += reply.cost_usd or 0.0
            data, problem = parse_reply(reply.text)
            errors = [problem] if problem else self.schema.errors(data)
            if data is not None:
                out.data = data
            out.errors = errors
            if not errors:
                return out
            messages.append(Message("assistant", reply.text))
            listing = "\n".join(f"- {e}" for e in errors[:20])
            messages.append(
                Message(
                    "user",
                    "Your reply does not follow the schema:\n"
                    f"{listing}\nReply again with the corrected JSON object only.",
                )
            )
        return out
