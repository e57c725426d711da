"""The attribute names ragwright puts on spans, and the version of the conventions they follow.

**Followed: the OpenTelemetry GenAI semantic conventions as published in ``opentelemetry-semantic-conventions
0.66b2`` (schema 1.44.0)**, pinned in the ``otlp`` extra; the names are copied here so the core does not depend on that
beta package. GenAI client spans are named ``"{gen_ai.operation.name} {gen_ai.request.model}"`` (``chat gpt-4o-mini``)
and retrieval spans ``"retrieval {gen_ai.data_source.id}"`` (``retrieval acme``). Names under ``ragwright.`` are ours:
what the conventions have no name for (retry number, breaker state, fallback position, cost, cache hit, stage timings
of the ask pipeline, which chunks were retrieved and how they scored).
"""

from __future__ import annotations

from typing import Final

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.44.0"
CONVENTIONS: Final = "opentelemetry-semantic-conventions 0.66b2 (GenAI, schema 1.44.0)"

# -- GenAI (client spans) ------------------------------------------------------------------------------------------
OPERATION: Final = "gen_ai.operation.name"
PROVIDER: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_STREAM: Final = "gen_ai.request.stream"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
PROMPT_NAME: Final = "gen_ai.prompt.name"
PROMPT_VERSION: Final = "ragwright.prompt.version"
"""The conventions name the prompt but not its version; ours is the registry's version number."""
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
DATA_SOURCE: Final = "gen_ai.data_source.id"
RETRIEVAL_QUERY: Final = "gen_ai.retrieval.query.text"
ERROR_TYPE: Final = "error.type"

CHAT: Final = "chat"
RETRIEVAL: Final = "retrieval"
EMBEDDINGS: Final = "embeddings"

CONTENT_ATTRIBUTES: Final = frozenset((INPUT_MESSAGES, OUTPUT_MESSAGES, RETRIEVAL_QUERY))
"""Attributes that carry text from users or documents: set only with ``capture_content``, stored apart, purged when
a document they may quote is deleted."""

# -- ragwright -----------------------------------------------------------------------------------------------------
TENANT: Final = "ragwright.tenant"
KEY_ID: Final = "ragwright.key_id"
REQUEST_ID: Final = "ragwright.request_id"
COST_USD: Final = "ragwright.cost_usd"
CACHE_HIT: Final = "ragwright.cache_hit"
RETRY: Final = "ragwright.retry"
BREAKER: Final = "ragwright.breaker_state"
FALLBACK_POSITION: Final = "ragwright.fallback_position"
ATTEMPTS: Final = "ragwright.attempts"
STORE_TENANT: Final = "ragwright.store_tenant"
HIT_DOCS: Final = "ragwright.hits.doc_ids"
HIT_CHUNKS: Final = "ragwright.hits.chunk_ids"
HIT_SCORES: Final = "ragwright.hits.scores"
STAGE: Final = "ragwright.stage"
"""On leaf stage spans: the stage's name in the ask/ingest pipeline (``retrieve.keyword``, ``evidence``, ...)."""
