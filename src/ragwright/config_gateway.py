"""The ``[gateway]`` section of the configuration: the chain, providers and every policy's settings (re-exported by
:mod:`ragwright.config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator


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


class LocalModelSettings(BaseModel):
    """``[gateway.local]``: how ``local:`` models run in this process."""

    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="llama.cpp threads per local model (default: every core). On a machine other processes keep "
        "busy, 1 is faster: the threads wait for each other at every step.",
    )


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
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)
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
