"""One typed configuration, loaded once and passed down.

Sources, highest priority first: keyword arguments (the CLI's flags), ``RAGWRIGHT_*`` environment variables (nested
fields with ``__``, e.g. ``RAGWRIGHT_RETRIEVAL__MODE=bm25``), ``ragwright.toml`` in the working directory (or the file
named by ``RAGWRIGHT_CONFIG``/``--config``), then the defaults below. Nothing here reads the environment at import.

Example ``ragwright.toml``::

    data_dir = ".ragwright"
    [ingest]
    chunk_tokens = 256
    [retrieval]
    mode = "hybrid"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragwright.errors import ConfigError, SecretMissing
from ragwright.redact import remember_secret

DEFAULT_CONFIG_FILE = "ragwright.toml"
STORE_PREFIXES = ("postgresql://", "postgres://", "env:", "file:")


class IngestSettings(BaseModel):
    """``[ingest]``: file size limit, chunk budget and overlap, excluded globs, embedding batch."""

    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped with a reason.")
    chunk_tokens: int = Field(256, ge=32, le=512, description="Token budget per chunk, embedding tokenizer units.")
    chunk_overlap: int = Field(32, ge=0, le=256)
    exclude: list[str] = Field(
        default_factory=lambda: [".git/**", ".ragwright/**", "**/node_modules/**", "**/.venv/**", "**/__pycache__/**"],
        description="Globs (relative to each ingest root) that are never ingested.",
    )
    embed_batch: int = Field(32, ge=1, le=512)
    worker_memory_mb: int = Field(
        2048, ge=256, description="Address-space limit of the ingest worker process (RLIMIT_AS), which parses uploads."
    )
    parse_cpu_seconds: int = Field(
        60, ge=1, description="CPU seconds the ingest worker may spend parsing one file before it is refused."
    )


class EmbeddingSettings(BaseModel):
    """``[embedding]``: which embedder, its input length, threads, and query/document precisions."""

    model: str = Field(
        "minilm",
        description="Embedder spec from the model registry: 'minilm', 'fake', or a remote OpenAI-compatible endpoint "
        "'openai-embed:http://host:8080/v1#model-name' (docs/postgres.md, remote embedders).",
    )
    max_length: int = Field(256, ge=16, le=512)
    threads: int | None = Field(None, ge=1)
    query_precision: Literal["int8", "fp32"] = Field(
        "int8",
        description="Query encoder: 'int8' runs queries through an int8 derivation of the model (built once, "
        "cached under ~/.cache/ragwright; ~2.3x less CPU per query, SciFact nDCG@10 unchanged); documents are always "
        "embedded in the model's own precision unless document_precision says otherwise.",
    )
    document_precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="Document encoder: 'int8' embeds documents with the same int8 derivation (faster ingest; "
        "queries then use it too). It changes the embedder's name, so an existing index must be re-ingested.",
    )
    api_key: str | None = Field(
        None,
        pattern=r"^(env|file):.+$",
        description="Remote embedder: the key, as env:VAR or file:PATH (never inline).",
    )
    remote_batch: int = Field(64, ge=1, le=2048, description="Remote embedder: texts per request.")
    remote_concurrency: int = Field(4, ge=1, le=64, description="Remote embedder: requests in flight at once.")


class RetrievalSettings(BaseModel):
    """``[retrieval]``: search mode, depth, fusion and BM25 parameters, optional re-ranker."""

    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    k: int = Field(10, ge=1, le=1000)
    candidates: int = Field(100, ge=10, le=2000, description="Depth of each first-stage list before fusion.")
    fusion: Literal["zscore", "minmax"] = Field("zscore", description="Score normalisation before fusing.")
    dense_weight: float = Field(0.6, ge=0.0, le=1.0, description="Weight of the dense list in fusion.")
    bm25_k1: float = Field(0.9, gt=0.0, le=5.0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.4, ge=0.0, le=1.0, description="BM25 length normalisation.")
    context_weight: float = Field(
        3.0, ge=1.0, le=10.0, description="BM25 weight of a term found in a chunk's title/heading context."
    )
    reranker: str | None = Field(
        None,
        description="Re-ranker spec: 'onnx:/models/ms-marco-MiniLM-L6', or a remote endpoint "
        "'tei-rerank:http://host:8080#model' / 'cohere-rerank:https://api.cohere.com/v2#rerank-v3.5'.",
    )
    reranker_api_key: str | None = Field(
        None, pattern=r"^(env|file):.+$", description="Remote re-ranker: the key, as env:VAR or file:PATH."
    )
    rerank_depth: int = Field(30, ge=1, le=500)


class PostgresSettings(BaseModel):
    """``[postgres]``: the PostgreSQL store's pool and its dense-search index (used when ``store`` is a DSN).

    A tenant's dense search is exact until it holds ``hnsw_min_chunks`` chunks; the write that crosses that size
    builds an HNSW index over the tenant's vectors (``CREATE INDEX CONCURRENTLY``, a partial index per tenant) and
    searches use it from then on (docs/postgres.md).
    """

    pool_max: int = Field(8, ge=1, le=256, description="Most connections the store's pool opens.")
    hnsw_min_chunks: int = Field(
        10_000,
        ge=1,
        description="Tenant size (chunks) from which dense search uses an HNSW index instead of an exact scan "
        "(bench/store_scale.py measured the exact scan's cost; docs/postgres.md).",
    )
    ef_search: int = Field(
        100, ge=1, le=1000, description="hnsw.ef_search: candidate list size per query (raised to k when smaller)."
    )
    iterative_scan: Literal["relaxed_order", "strict_order", "off"] = Field(
        "relaxed_order",
        description="hnsw.iterative_scan (pgvector 0.8): keep scanning the graph until a filtered query has k rows.",
    )
    max_scan_tuples: int = Field(20_000, ge=1, description="hnsw.max_scan_tuples: where an iterative scan stops.")
    hnsw_m: int = Field(16, ge=2, le=100, description="HNSW graph degree (m) of newly built indexes.")
    hnsw_ef_construction: int = Field(64, ge=4, le=1000, description="HNSW ef_construction of newly built indexes.")
    build_memory: str = Field(
        "512MB", pattern=r"^[0-9]+(kB|MB|GB)$", description="maintenance_work_mem while an HNSW index is built."
    )


class AnswerSettings(BaseModel):
    """``[answer]``: which generator writes answers, how much evidence it gets, when to abstain."""

    generator: Literal["extractive", "local", "gateway"] = Field(
        "extractive", description="extractive quotes the evidence; local asks SmolLM2; gateway asks gateway.chain."
    )
    evidence_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    max_sentences: int = Field(3, ge=1, le=20)
    min_answerability: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Calibrated answerability under which ragwright abstains; None = the shipped model's operating "
        "point (ragwright eval calibrate-abstention writes your own).",
    )
    abstain_below: float = Field(
        0.0, ge=0.0, le=1.0, description="Optional hard floor on the best evidence support (0 = off)."
    )
    max_tokens: int = Field(256, ge=16, le=4096)
    local_model: str = Field(
        "smollm2",
        description="What generator = 'local' runs: smollm2, qwen2.5-coder-0.5b or -1.5b (extras), or a .gguf path.",
    )
    verifier_model: str | None = Field(
        None,
        description="Model (spec or alias) that judges each generated sentence against its evidence, yes or no, "
        "through the gateway; None: the offline check only (which also stands in when the judge cannot answer).",
    )


class ProviderSettings(BaseModel):
    """How to reach one provider. ``api_key`` is a secret reference, never the key itself: ``env:VAR`` or
    ``file:/run/secrets/key`` (resolved when the provider is first used, so a missing key fails only then)."""

    kind: Literal["openai", "anthropic"] = "openai"
    base_url: str
    api_key: str | None = Field(None, pattern=r"^(env|file):.+$")
    headers: dict[str, str] = Field(default_factory=dict)


def _default_providers() -> dict[str, ProviderSettings]:
    return {
        "openai": ProviderSettings(kind="openai", base_url="https://api.openai.com/v1", api_key="env:OPENAI_API_KEY"),
        "anthropic": ProviderSettings(
            kind="anthropic", base_url="https://api.anthropic.com", api_key="env:ANTHROPIC_API_KEY"
        ),
        "ollama": ProviderSettings(kind="openai", base_url="http://127.0.0.1:11434/v1"),
        "vllm": ProviderSettings(kind="openai", base_url="http://127.0.0.1:8000/v1"),
    }


class TimeoutSettings(BaseModel):
    """``[gateway.timeout]``: connect, first-token and total deadlines of a model call."""

    connect: float = Field(5.0, gt=0, description="Seconds to open a connection to a provider.")
    first_token: float = Field(30.0, gt=0, description="Seconds until the first streamed token (or the whole reply).")
    total: float = Field(120.0, gt=0, description="Seconds for the whole call.")


class RetrySettings(BaseModel):
    """``[gateway.retry]``: attempts per model, backoff, and the retry budget."""

    max_attempts: int = Field(3, ge=1, le=10, description="Tries per model, the first included.")
    base_delay: float = Field(0.25, ge=0, description="Backoff base in seconds (full jitter: uniform(0, base*2^n)).")
    max_delay: float = Field(8.0, ge=0)
    budget_ratio: float = Field(0.2, ge=0, le=1, description="Retries allowed per call over the sliding window.")
    budget_window: float = Field(60.0, gt=0, description="Seconds the retry budget looks back.")
    budget_min: int = Field(10, ge=0, description="Retries always allowed per window (so a quiet system can retry).")


class BreakerSettings(BaseModel):
    """``[gateway.breaker]``: when a provider's circuit opens and how long until it probes again."""

    consecutive_failures: int = Field(5, ge=1)
    error_rate: float = Field(0.5, gt=0, le=1, description="Open when this share of calls in the window failed...")
    min_calls: int = Field(20, ge=1, description="...and the window holds at least this many calls.")
    window: float = Field(30.0, gt=0, description="Seconds of call outcomes the error rate looks at.")
    cooldown: float = Field(30.0, gt=0, description="Seconds open before one probe call is let through.")


class RateLimitSettings(BaseModel):
    """Requests and tokens per minute for each scope (enforced with the `limits` library); None means no limit."""

    per_key_rpm: int | None = Field(None, ge=1)
    per_key_tpm: int | None = Field(None, ge=1)
    per_tenant_rpm: int | None = Field(None, ge=1)
    per_tenant_tpm: int | None = Field(None, ge=1)
    per_model_rpm: int | None = Field(None, ge=1)
    per_model_tpm: int | None = Field(None, ge=1)
    storage: str = Field(
        "memory://",
        description="Where the counters live: memory:// (this process), or redis (the [redis] url; the default when "
        "one is set) / a redis://host:6379 URI to share them between replicas.",
    )


class BudgetSettings(BaseModel):
    """``[gateway.budget]``: USD limits per tenant and per key for each period."""

    tenant_usd: float | None = Field(None, ge=0, description="USD per tenant per period; None means no budget.")
    key_usd: float | None = Field(None, ge=0, description="USD per API key per period.")
    period: Literal["day", "month"] = "day"
    unknown_price: Literal["refuse", "allow"] = Field(
        "refuse", description="A model with no price cannot be budgeted: refuse the call, or allow it uncounted."
    )


class CacheSettings(BaseModel):
    """``[gateway.cache]``: exact and semantic response caching."""

    exact: bool = True
    semantic: bool = False
    semantic_threshold: float = Field(0.95, ge=0.5, le=1.0, description="Cosine similarity needed for a hit.")
    ttl_seconds: float = Field(3600.0, gt=0)
    max_entries: int = Field(10_000, ge=1)


class RouterSettings(BaseModel):
    """``[gateway.router]``: easy requests to a cheap model, hard ones to a strong model."""

    enabled: bool = False
    cheap: str | None = Field(None, description="Model for easy requests, e.g. 'openai:gpt-4o-mini'.")
    strong: str | None = Field(None, description="Model for hard requests, e.g. 'openai:gpt-4o'.")
    threshold: float = Field(0.5, ge=0, le=1, description="Complexity at or above which the strong model is used.")


class GatewaySettings(BaseModel):
    """``[gateway]``: the fallback chain, aliases, providers, prices and every policy's section."""

    chain: list[str] = Field(
        default_factory=lambda: ["local:smollm2"],
        description="Ordered fallback chain of provider:model specs for generated answers.",
    )
    judge: str | None = Field(None, description="provider:model for eval judges; judge metrics need one.")
    aliases: dict[str, list[str]] = Field(
        default_factory=dict, description="Model names the proxy serves, each mapped to a chain."
    )
    providers: dict[str, ProviderSettings] = Field(default_factory=_default_providers)
    prices_file: Path | None = Field(None, description="TOML price table merged over the packaged one.")
    ledger: bool = Field(True, description="Record every call's usage and cost in <data_dir>/usage.sqlite.")
    timeout: TimeoutSettings = Field(default_factory=TimeoutSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    router: RouterSettings = Field(default_factory=RouterSettings)

    @field_validator("providers", mode="before")
    @classmethod
    def _merge_builtin_providers(cls, value: Any) -> Any:
        """``[gateway.providers.openai] api_key = "file:..."`` changes that field only: entries for the built-in
        providers are merged over their defaults, and the built-ins stay available beside any new provider."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {name: conf.model_dump() for name, conf in _default_providers().items()}
        for name, conf in value.items():
            if isinstance(conf, dict) and name in merged:
                merged[name] = {**merged[name], **conf}
            else:
                merged[name] = conf
        return merged


class ServiceSettings(BaseModel):
    """The HTTP service (`ragwright serve`): request limits, per-key rate limit, timeouts."""

    max_body_mb: float = Field(1.0, gt=0, description="Largest JSON request body; bigger ones get 413.")
    max_upload_mb: float = Field(50.0, gt=0, description="Largest multipart upload (all files together).")
    max_upload_files: int = Field(100, ge=1, description="Most files in one upload.")
    rate_limit_rpm: int | None = Field(600, ge=1, description="Requests per minute per API key; None for no limit.")
    rate_limit_storage: str = Field(
        "memory://",
        description="Rate-limit storage: memory:// (this process), sqlite:// "
        "(<data_dir>/ratelimit.sqlite, shared by one machine's processes; what serve --workers N uses when unset), "
        "redis (the [redis] url; the default when one is set) or a redis://host:6379 URI (between machines).",
    )
    request_timeout: float = Field(60.0, gt=0, description="Seconds a request may run before it gets 503.")
    keys_file: Path | None = Field(None, description="API key store; default <data_dir>/keys.sqlite.")


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class RedisSettings(BaseModel):
    """``[redis]``: the Redis that replicas share for rate limits, budgets, the gateway cache and key revocation."""

    url: str | None = Field(
        None,
        description="redis://[:password@]host:6379/0 (rediss:// for TLS), or an env:VAR / file:PATH reference to "
        "one. Unset: each process keeps its own limits, budgets and cache (docs/scale-out.md).",
    )
    prefix: str = Field(
        "rw", pattern=r"^[A-Za-z0-9_.\-]{1,32}$", description="Namespace of every Redis key ragwright writes."
    )
    timeout: float = Field(
        2.0, gt=0, le=30, description="Seconds one Redis command may take; past it the request fails closed (503)."
    )
    cache: bool = Field(True, description="Keep the gateway's exact and semantic caches in Redis (else per process).")

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value.startswith((*REDIS_SCHEMES, "env:", "file:")):
            return value
        raise ValueError("redis.url must be a redis://, rediss:// or unix:// URL, or an env:VAR / file:PATH reference")

    def resolved_url(self) -> str | None:
        """The Redis URL, its reference resolved and its password remembered for redaction; None when unset."""
        if self.url is None:
            return None
        url = resolve_secret(self.url) if self.url.startswith(("env:", "file:")) else self.url
        if not isinstance(url, str) or not url.startswith(REDIS_SCHEMES):
            raise ConfigError(f"redis.url {self.url.partition(':')[0]}:... does not hold a redis:// URL")
        from urllib.parse import urlsplit

        remember_secret(urlsplit(url).password)
        return url


class ObservabilitySettings(BaseModel):
    """``[observability]``: where traces go (nowhere, the local trace store, an OTLP/HTTP collector), what they keep."""

    tracing: Literal["off", "local", "otlp", "both", "external"] = Field(
        "off",
        description="off: no spans (the no-op tracer); local: the SQLite trace store (<data_dir>/traces.sqlite, "
        "`ragwright traces`); otlp: an OTLP/HTTP collector (the 'otlp' extra); both; external: the process's own "
        "OpenTelemetry tracer provider (an application that embeds ragwright and configures OpenTelemetry itself).",
    )
    otlp_endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces", description="The collector's OTLP/HTTP traces URL (otlp, both)."
    )
    otlp_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers sent to the collector; values may be env:VAR / file:PATH references (API keys).",
    )
    capture_content: bool = Field(
        False,
        description="Record message content (prompts, answers, the query) on spans, redacted. Off: spans carry "
        "names, timings, ids, scores and token counts, never text.",
    )
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0, description="Share of new traces recorded (parent-based).")
    service_name: str = Field("ragwright", min_length=1, description="The OpenTelemetry service.name resource.")
    trace_store: Path | None = Field(None, description="The local trace store; default <data_dir>/traces.sqlite.")
    retention_days: float = Field(7.0, gt=0, description="Local traces older than this are deleted.")
    retention_mb: float = Field(256.0, gt=0, description="Above this size the oldest local traces are deleted.")


class LoggingSettings(BaseModel):
    """``[logging]``: how the servers (``serve``, ``gateway serve``, ``mcp``) write their log lines."""

    format: Literal["text", "json"] = Field(
        "text",
        description="text: uvicorn's lines, for a terminal; json: one object per line with request id, trace id, "
        "tenant and key id (secrets redacted), for a log pipeline. --log-format overrides it.",
    )


class McpServerSettings(BaseModel):
    """``[agent.mcp_servers.NAME]``: another MCP server whose tools agents may call (stdio ``command`` or ``url``)."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] | None = Field(None, min_length=1, description="Start it as a subprocess speaking stdio.")
    url: str | None = Field(None, pattern=r"^https?://", description="Or reach it over streamable HTTP.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment for a stdio server; values may be env:VAR / file:PATH secrets."
    )
    tenants: list[str] = Field(
        min_length=1, description='The tenants whose runs may use it ("*" for every tenant): servers are per tenant.'
    )
    read_only: list[str] = Field(
        default_factory=list,
        description="Its tools that have no side effects; every other tool of the server needs approval.",
    )
    timeout: float = Field(30.0, gt=0.0, le=600.0, description="Seconds per call, connection included.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (HTTP)")
        return self


class AgentSettings(BaseModel):
    """``[agent]``: which model an agent run uses and the limits a run gets unless the caller sets its own."""

    model: str | None = Field(
        None, description="provider:model (or alias) for agent runs; None: the first model of gateway.chain."
    )
    tool_calls: Literal["auto", "native", "json"] = Field(
        "auto",
        description="native: the provider's tool calls; json: the model answers in JSON naming a tool (for models "
        "without tool calling); auto: json for local:* models, native otherwise.",
    )
    approve: Literal["ask", "all", "none"] = Field(
        "ask", description="Tool calls that need approval: ask a human (the run pauses), approve all, or deny all."
    )
    mcp_servers: dict[str, McpServerSettings] = Field(
        default_factory=dict, description="Other MCP servers whose tools agents may call, by name (tools: NAME__tool)."
    )
    require_approval: list[str] = Field(
        default_factory=list,
        description="Tools that always need a human's approval, whatever their own flags say (e.g. get_document).",
    )
    max_steps: int = Field(12, ge=1, le=200)
    max_tool_calls: int = Field(24, ge=0, le=1000)
    max_tokens: int = Field(60_000, ge=100, le=10_000_000)
    max_usd: float | None = Field(None, gt=0.0, description="USD per run (None: only the gateway's budgets apply).")
    max_seconds: float = Field(600.0, gt=0.0, le=86_400.0)


class Settings(BaseSettings):
    """Everything configurable, typed and validated."""

    model_config = SettingsConfigDict(
        env_prefix="RAGWRIGHT_", env_nested_delimiter="__", extra="forbid", toml_file=DEFAULT_CONFIG_FILE
    )

    data_dir: Path = Field(Path(".ragwright"), description="Where the index lives.")
    store: str = Field(
        "sqlite",
        description='The index backend: "sqlite" (<data_dir>/index.sqlite, the default) or a PostgreSQL DSN '
        '"postgresql://user@host:5432/db", or an env:VAR / file:PATH reference to one (keeps a password out of the '
        "config file); see docs/postgres.md.",
    )
    tenant: str = Field("default", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value == "sqlite" or value.startswith(STORE_PREFIXES):
            return value
        raise ValueError('store must be "sqlite", a postgresql:// DSN, or an env:VAR / file:PATH reference to one')

    @property
    def uses_postgres(self) -> bool:
        """Whether the index lives in PostgreSQL rather than in <data_dir>/index.sqlite."""
        return self.store != "sqlite"

    def store_dsn(self) -> str:
        """The PostgreSQL DSN of ``store``, its reference resolved and its password remembered for redaction."""
        dsn = resolve_secret(self.store) if self.store.startswith(("env:", "file:")) else self.store
        if not isinstance(dsn, str) or not dsn.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"store {self.store.partition(':')[0]}:... does not hold a postgresql:// DSN")
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(dsn)
        except psycopg.Error:  # its message may quote the DSN, password included
            raise ConfigError(f"store {self.store.partition(':')[0]}:... is not a valid postgresql:// DSN") from None
        remember_secret(str(info.get("password") or "") or None)
        return dsn

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "usage.sqlite"

    @property
    def trace_store_path(self) -> Path:
        return self.observability.trace_store or self.data_dir / "traces.sqlite"


def resolve_secret(ref: str | None) -> str | None:
    """The value behind a secret reference: ``env:VAR`` reads the environment, ``file:PATH`` reads a file (stripped).

    Called when a provider is first used, never at import or settings load. The value is remembered for
    :func:`ragwright.redact.redact`, so it never appears in an error, a log line or a ledger row. A missing variable
    or file is a :class:`~ragwright.errors.SecretMissing` naming the reference, never the value.
    """
    if ref is None:
        return None
    kind, _, where = ref.partition(":")
    if kind == "env":
        value = os.environ.get(where)
        if not value:
            raise SecretMissing(f"secret {ref} is not set: export {where}=...", ref=ref)
        remember_secret(value)
        return value
    if kind == "file":
        try:
            value = Path(where).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretMissing(f"secret {ref} cannot be read: {exc.strerror}", ref=ref) from None
        remember_secret(value)
        return value
    raise SecretMissing(f"secret reference {ref!r} must be env:VAR or file:PATH", ref=ref)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the config file (if any), the environment and ``overrides``; raise ConfigError if invalid."""
    path = config_file or (Path(os.environ["RAGWRIGHT_CONFIG"]) if os.environ.get("RAGWRIGHT_CONFIG") else None)
    if path is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    cls: type[Settings] = Settings
    if path is not None:
        toml_path = path

        class _FromFile(Settings):
            model_config = SettingsConfigDict(toml_file=toml_path)

        cls = _FromFile
    try:
        return cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    except ValueError as exc:  # e.g. malformed TOML
        raise ConfigError(f"invalid configuration: {exc}") from None
