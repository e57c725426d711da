"""The sections for running ragwright as a service: ``[service]``, ``[redis]``, ``[queue]``, ``[observability]``,
``[logging]`` and ``[agent]`` (re-exported by :mod:`ragwright.config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ragwright.errors import ConfigError
from ragwright.redact import remember_secret
from ragwright.secret_refs import resolve_secret


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


class UiSettings(BaseModel):
    """``[ui]``: the web interface `ragwright serve` offers at ``/`` (sessions; docs/adr/0010-web-ui.md)."""

    session_secret: str | None = Field(
        None,
        description="env:VAR or file:PATH reference to the secret that signs session cookies; every replica must "
        "share it. Unset: <data_dir>/ui-session.secret, created once (0600); with a [redis] url (replicas) the UI "
        "refuses to log in until it is set.",
    )
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="A login lasts this long, then asks again.")
    secure_cookie: bool | None = Field(
        None,
        description="Mark the session cookie Secure (HTTPS only). Unset: when the request came over https "
        "(behind a proxy: run uvicorn with --forwarded-allow-ips).",
    )

    @field_validator("session_secret")
    @classmethod
    def _secret_ref(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("env:", "file:")):
            return value
        raise ValueError("ui.session_secret must be an env:VAR or file:PATH reference, never the secret itself")


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


class QueueSettings(BaseModel):
    """``[queue]``: ingest jobs on a PostgreSQL queue that ``ragwright worker`` processes on any host consume."""

    enabled: bool = Field(
        False,
        description="Put uploads on the queue in the PostgreSQL store (needs store = postgresql://...) for "
        "`ragwright worker` processes; off: each server ingests in a subprocess of its own (docs/scale-out.md).",
    )
    name: str = Field("ingest", pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="The queue's name.")
    retries: int = Field(3, ge=0, le=100, description="Retries after a failed attempt; then the job is dead-lettered.")
    backoff_seconds: int = Field(
        2, ge=0, le=3600, description="Exponential backoff base: the n-th retry waits backoff_seconds ** n seconds."
    )
    heartbeat_seconds: float = Field(10.0, gt=0, le=600, description="How often a worker says it is alive.")
    stalled_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="A worker silent this long is presumed dead: its running job is retried (or dead-lettered).",
    )
    poll_seconds: float = Field(
        2.0, gt=0, le=60, description="Fallback poll for new jobs, cancellations and stalled workers (LISTEN first)."
    )
    stop_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="On SIGTERM a worker lets the job in hand run this long, then stops it and puts it back on the "
        "queue (give the container a longer stop grace period).",
    )

    @model_validator(mode="after")
    def _heartbeat_below_stall(self) -> QueueSettings:
        if self.stalled_seconds <= 2 * self.heartbeat_seconds:
            raise ValueError("queue.stalled_seconds must exceed twice queue.heartbeat_seconds")
        return self


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


class FetchSettings(BaseModel):
    """``[agent.fetch]``: the ``fetch`` tool (HTTP GET of a web page). Off unless enabled, and only for ``allow``."""

    enabled: bool = Field(False, description="Offer agents the fetch tool.")
    allow: list[str] = Field(
        default_factory=list,
        description="What may be fetched: a host (docs.example.com, HTTPS only), *.example.com (its subdomains), or a "
        "URL prefix with its scheme (https://api.example.com/v1/). Nothing else is reachable, redirects included.",
    )
    max_bytes: int = Field(1_000_000, ge=1_000, le=50_000_000, description="A longer body is cut here.")
    timeout: float = Field(10.0, gt=0.0, le=300.0, description="Seconds for the whole fetch, body included.")
    max_redirects: int = Field(3, ge=0, le=10)


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
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    max_steps: int = Field(12, ge=1, le=200)
    max_tool_calls: int = Field(24, ge=0, le=1000)
    max_tokens: int = Field(60_000, ge=100, le=10_000_000)
    max_usd: float | None = Field(None, gt=0.0, description="USD per run (None: only the gateway's budgets apply).")
    max_seconds: float = Field(600.0, gt=0.0, le=86_400.0)
