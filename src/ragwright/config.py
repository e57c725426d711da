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

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragwright.config_gateway import (
    BreakerSettings,
    BudgetSettings,
    CacheSettings,
    GatewaySettings,
    ProviderSettings,
    RateLimitSettings,
    RetrySettings,
    RouterSettings,
    TimeoutSettings,
)
from ragwright.config_service import (
    AgentSettings,
    FetchSettings,
    LoggingSettings,
    McpServerSettings,
    ObservabilitySettings,
    QueueSettings,
    RedisSettings,
    ServiceSettings,
    UiSettings,
)
from ragwright.errors import ConfigError
from ragwright.redact import remember_secret
from ragwright.secret_refs import resolve_secret

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "AgentSettings",
    "AnswerSettings",
    "BreakerSettings",
    "BudgetSettings",
    "CacheSettings",
    "EmbeddingSettings",
    "FetchSettings",
    "GatewaySettings",
    "IngestSettings",
    "LoggingSettings",
    "McpServerSettings",
    "ObservabilitySettings",
    "PostgresSettings",
    "ProviderSettings",
    "RateLimitSettings",
    "QueueSettings",
    "RedisSettings",
    "RetrievalSettings",
    "RetrySettings",
    "RouterSettings",
    "ServiceSettings",
    "Settings",
    "TimeoutSettings",
    "UiSettings",
    "load_settings",
    "resolve_secret",
]

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
        400,
        ge=1,
        le=1000,
        description="hnsw.ef_search: candidate list size per query (raised to k when smaller); 400 reached recall@10 "
        "0.972 at 200,000 chunks with m=32, ef_construction=128 (docs/postgres.md).",
    )
    iterative_scan: Literal["relaxed_order", "strict_order", "off"] = Field(
        "relaxed_order",
        description="hnsw.iterative_scan (pgvector 0.8): keep scanning the graph until a filtered query has k rows.",
    )
    max_scan_tuples: int = Field(20_000, ge=1, description="hnsw.max_scan_tuples: where an iterative scan stops.")
    hnsw_m: int = Field(32, ge=2, le=100, description="HNSW graph degree (m) of newly built indexes.")
    hnsw_ef_construction: int = Field(128, ge=4, le=1000, description="HNSW ef_construction of newly built indexes.")
    build_memory: str = Field(
        "512MB", pattern=r"^[0-9]+(kB|MB|GB)$", description="maintenance_work_mem while an HNSW index is built."
    )
    prewarm: bool = Field(
        False,
        description="Read the HNSW indexes and chunk rows into shared buffers (pg_prewarm) when the store opens, so "
        "the first searches after a server restart do not read them page by page (docs/postgres.md).",
    )
    keyword_cache_max: int = Field(
        1_000_000,
        ge=0,
        description="Largest tenant (chunks) whose BM25 postings each process holds in memory (about 0.7 KB per "
        "chunk of SciFact-like text); larger tenants are scored in SQL (docs/adr/0012).",
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
    answerability_model: str | None = Field(
        None,
        description="The answerability model: None = the shipped default; a shipped version (v2: no alignment "
        "features, v3: with them, trees: boosted trees over v2's features, calibrated: v2's features on the corpus's "
        "own scale from a label-free self-calibration computed on first use) or the path of a model JSON written by "
        "bench/fit_answerability.py.",
    )
    alignment: bool | None = Field(
        None,
        description="Compute the late-interaction alignment features (the question's words against the best "
        "passages' token vectors; needs the ONNX embedder). None: when the answerability model reads them.",
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
    queue: QueueSettings = Field(default_factory=QueueSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    ui: UiSettings = Field(default_factory=UiSettings)

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

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.queue.enabled and self.store == "sqlite":
            raise ValueError("queue.enabled needs the PostgreSQL store (store = postgresql://...)")
        return self

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
