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

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragwright.errors import ConfigError

DEFAULT_CONFIG_FILE = "ragwright.toml"


class IngestSettings(BaseModel):
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped with a reason.")
    chunk_tokens: int = Field(256, ge=32, le=512, description="Token budget per chunk, embedding tokenizer units.")
    chunk_overlap: int = Field(32, ge=0, le=256)
    exclude: list[str] = Field(
        default_factory=lambda: [".git/**", ".ragwright/**", "**/node_modules/**", "**/.venv/**", "**/__pycache__/**"],
        description="Globs (relative to each ingest root) that are never ingested.",
    )
    embed_batch: int = Field(32, ge=1, le=512)


class EmbeddingSettings(BaseModel):
    model: str = Field("minilm", description="Embedder spec from the model registry: 'minilm' or 'fake'.")
    max_length: int = Field(256, ge=16, le=512)
    threads: int | None = Field(None, ge=1)


class RetrievalSettings(BaseModel):
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    k: int = Field(10, ge=1, le=1000)
    candidates: int = Field(100, ge=10, le=2000, description="Depth of each first-stage list before fusion.")
    fusion: Literal["zscore", "minmax"] = Field("zscore", description="Score normalisation before fusing.")
    dense_weight: float = Field(0.6, ge=0.0, le=1.0, description="Weight of the dense list in fusion.")
    bm25_k1: float = Field(0.9, gt=0.0, le=5.0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.4, ge=0.0, le=1.0, description="BM25 length normalisation.")
    context_weight: float = Field(
        3.0, ge=1.0, le=10.0, description="BM25 weight of a term found in a chunk's title/heading context.")
    reranker: str | None = Field(None, description="Re-ranker spec, e.g. 'onnx:/models/ms-marco-MiniLM-L6'.")
    rerank_depth: int = Field(30, ge=1, le=500)


class AnswerSettings(BaseModel):
    generator: Literal["extractive", "local"] = "extractive"
    evidence_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    max_sentences: int = Field(3, ge=1, le=20)
    abstain_below: float = Field(0.35, ge=0.0, le=1.0, description="Support score under which ragwright abstains.")
    max_tokens: int = Field(256, ge=16, le=4096)


class Settings(BaseSettings):
    """Everything configurable, typed and validated."""

    model_config = SettingsConfigDict(
        env_prefix="RAGWRIGHT_", env_nested_delimiter="__", extra="forbid", toml_file=DEFAULT_CONFIG_FILE
    )

    data_dir: Path = Field(Path(".ragwright"), description="Where the index lives.")
    tenant: str = Field("default", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$")
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)

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

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite"


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
