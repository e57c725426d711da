"""One error tree for ragwright.

Every failure a caller can act on is a subclass of :class:`RagwrightError`. The front doors (CLI, HTTP, MCP) translate
the root at their boundary: a :class:`UserError` is the user's to fix and is printed as one line (exit code 2 on the
CLI, 4xx over HTTP); everything else is ours or the environment's.

    RagwrightError
    ├── UserError                 bad input the user can fix: arguments, config, paths
    │   ├── ConfigError           ragwright.toml / RAGWRIGHT_* values that do not validate
    │   │   ├── UnknownModel      a model name the gateway does not serve (404 over HTTP)
    │   │   └── SecretMissing     a secret reference (env:VAR, file:PATH) that cannot be read: the server's setup
    │   ├── NotIndexedError       a command needs an index that does not exist yet
    │   ├── AccessDenied          the key's tags do not allow this write (service.access.TagScope)
    │   ├── TraceNotFound         no stored trace with that id (for this tenant): 404 over HTTP
    │   ├── AgentRunError         an agent run cannot do that (not paused, unknown call, invalid edited arguments)
    │   ├── AgentRunNotFound      no agent run with that id that this key may read: 404 over HTTP
    │   ├── KeyNotFound           no API key with that id that this admin key may manage: 404 over HTTP
    │   ├── InvalidFilterError    a search filter that cannot be used (a path glob too long, too many wildcards)
    │   ├── ExtractionSchemaError an extraction schema or example file that cannot be used (bad JSON Schema, bad ref)
    │   ├── FetchRefused          the agent fetch tool will not get a URL (not allowed, not text, too slow)
    │   ├── PromptError           a prompt version, label or A/B split that cannot be made (bad template, variables)
    │   │   └── PromptNotFound    no such prompt, version or label in this tenant (404 over HTTP)
    │   ├── EvalRunNotFound       no eval run or dataset of that name that this key may read: 404 over HTTP
    │   └── EvalRunExists         an eval run of that name already exists: 409 over HTTP
    ├── IngestError               one source could not be turned into chunks (reported per file, the run goes on)
    │   ├── UnsupportedFileError  no loader for this extension
    │   ├── EmptyDocumentError    nothing to index after extraction
    │   ├── FileTooLargeError     over `ingest.max_file_mb`
    │   ├── CorruptFileError      the bytes do not parse as the format they claim (incl. binary behind a text extension)
    │   ├── EncryptedFileError    password-protected document
    │   ├── DecodeError           text that is not valid in any accepted encoding
    │   ├── ArchiveLimitError     a zip-based file over an archive limit (``limit`` names it: entries, entry_bytes, ...)
    │   └── ResourceLimitError    parsing one file ran past the ingest worker's CPU or memory limit
    ├── StoreError                the index could not be read or written
    │   ├── SchemaVersionError    a SQLite file (index, keys, jobs, ledger, ...) was written by a newer ragwright
    │   ├── StoreUnavailable      the database server cannot be reached or refuses the connection
    │   └── DiskFull              a write failed because the disk (or the database's size cap) is full; reads go on
    ├── SharedStateUnavailable    the Redis replicas share (limits, budgets, revocation) did not answer: fail closed
    ├── IngestAttemptFailed       one attempt of a queued ingest job failed as a whole (the queue retries it)
    ├── ModelError                a local model could not be loaded or run
    │   ├── RemoteModelError      a remote embedding or re-ranking endpoint failed after retries, or answered nonsense
    │   ├── ModelNotInstalledError   a model package is missing (says which pip command installs it)
    │   └── ModelChecksumError    model bytes (e.g. a GGUF joined from split wheels) do not match the pinned sha256
    └── GatewayError              a model call through the gateway failed (``transient`` says whether a retry may help)
        ├── ProviderHTTPError     the provider answered with an error status (status, retry_after, provider, body)
        ├── ProviderTimeout       connect, first-token or total deadline passed (phase says which)
        ├── ProviderConnectionError   the provider could not be reached (refused, reset, DNS)
        ├── ProviderUnavailable   the provider cannot be used here (no API key set, model package missing)
        ├── ProviderProtocolError the provider answered something that is not its API (bad JSON, wrong content type)
        ├── StreamInterrupted     a stream failed after its first token: the client must see an error, not a success
        ├── RateLimited           over an RPM/TPM limit (ours, not the provider's; retry_after says when)
        ├── BudgetExceeded        the USD budget cannot cover this call's worst case (remaining, resets_at)
        ├── CircuitOpen           the breaker for this provider+model is open (retry_after says when it probes)
        ├── ContextLengthExceeded the request does not fit the model's context window
        ├── ContentFiltered       the provider refused the content
        ├── AllProvidersFailed    every model in a fallback chain failed (attempts lists each one's error)
        └── JudgeOutputError      an eval judge's reply failed its rubric's JSON schema, even after one re-ask
"""

from __future__ import annotations


class RagwrightError(Exception):
    """Root of every error ragwright raises on purpose."""


class UserError(RagwrightError):
    """Something the user can fix: printed as one line, exit code 2, never a traceback."""


class ConfigError(UserError):
    """Configuration that does not validate."""


class UnknownModel(ConfigError):
    """A model name that the gateway does not serve (not ``default``, an alias, or a configured spec)."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class SecretMissing(ConfigError):
    """A secret reference that cannot be resolved. The reference is the server's configuration: front ends tell a
    client only that a provider is not configured, and log the rest."""

    def __init__(self, message: str, *, ref: str) -> None:
        super().__init__(message)
        self.ref = ref


class NotIndexedError(UserError):
    """The command needs an index (run `ragwright ingest` first)."""


class AccessDenied(UserError):
    """A tag-limited key may not write this document (a tag outside the key, or a name it may not replace)."""


class TraceNotFound(UserError):
    """No trace with this id in the local trace store, or not one of the caller's tenant."""


class AgentRunError(UserError):
    """An agent run cannot do what was asked: an empty task, a run that is not paused, an unknown call id, edited
    arguments that do not validate."""


class EditedArgumentsInvalid(AgentRunError):
    """A human's edited arguments for a paused tool call do not validate against the tool's schema (the message says
    which field and why; the web UI shows it beside the arguments)."""


class AgentRunNotFound(UserError):
    """No agent run with this id, or one of another tenant or started by a key whose tags the caller's do not cover."""


class KeyNotFound(UserError):
    """No API key with this id, or one the caller may not manage (another tenant's, or outside its tags)."""


class JobNotCancellable(UserError):
    """The ingest job already ended, or it runs in a server's own subprocess where it cannot be stopped half-way."""


class ExtractionSchemaError(UserError):
    """An extraction schema (JSON Schema file, ``module:Model`` reference, a request's schema) or few-shot example
    file that cannot be used: not valid JSON Schema, not an object schema, an example that does not follow it."""


class FetchRefused(UserError):
    """The agent ``fetch`` tool refused or gave up on a URL: not on ``[agent.fetch] allow`` (redirects included), not
    http(s), a body that is not text, or over its time limit. The model sees the reason as the tool's error."""


class InvalidFilterError(UserError):
    """A search filter that cannot be used (``store.base.check_glob`` says why)."""


class PromptError(UserError):
    """A prompt registry request that cannot be honoured: a template using an undeclared variable, a declared
    variable the template never uses, a bad name or label, a render without a declared variable."""


class PromptNotFound(PromptError):
    """No prompt, version or label of that name in the caller's tenant (another tenant's read as missing)."""


class EvalRunNotFound(UserError):
    """No eval run or dataset of this name in the knowledge base, or a run started by a key whose tags the caller's
    do not cover (:mod:`ragwright.evals.run_store`)."""


class EvalRunExists(UserError):
    """An eval run of this name exists already (finished or going): runs are never overwritten from the server."""


class IngestError(RagwrightError):
    """A single source could not be ingested; `reason` is the one-line explanation shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedFileError(IngestError):
    """No loader for this file's extension."""


class EmptyDocumentError(IngestError):
    """Nothing to index after extraction."""


class FileTooLargeError(IngestError):
    """The file is over ``ingest.max_file_mb``."""


class CorruptFileError(IngestError):
    """The bytes do not parse as the format they claim (incl. binary behind a text extension)."""


class EncryptedFileError(IngestError):
    """A password-protected document."""


class DecodeError(IngestError):
    """Text that is not valid in any accepted encoding."""


class ArchiveLimitError(IngestError):
    """A zip-based file (DOCX...) over an archive limit; ``limit`` names it (``entries``, ``entry_bytes``,
    ``total_bytes``, ``declared_size``), so callers never match on the message."""

    def __init__(self, path: str, limit: str, reason: str) -> None:
        super().__init__(path, reason)
        self.limit = limit


class ResourceLimitError(IngestError):
    """Parsing one file ran past the ingest worker's CPU-time or memory limit; ``limit`` is ``cpu`` or ``memory``."""

    def __init__(self, path: str, limit: str, reason: str) -> None:
        super().__init__(path, reason)
        self.limit = limit


class TargetNotEmpty(UserError):
    """`ragwright migrate` found data in the target that no earlier run of this migration put there."""


class StoreError(RagwrightError):
    """The index could not be read or written."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached, or refuses the connection (wrong host, port, user or password)."""


class SchemaVersionError(StoreError):
    """A SQLite file records a migration this version does not know: a newer ragwright wrote it."""


class DiskFull(StoreError):
    """A write failed with "no space left on device" (ENOSPC, or SQLite's SQLITE_FULL). What was written before stays
    readable: the failed write was rolled back."""


class SharedStateUnavailable(RagwrightError):
    """The Redis that replicas share for rate limits, budgets, the cache and key revocation did not answer in time.
    Requests that need it are refused (503 with Retry-After) rather than checked against this process's memory only:
    a limit that silently turns local is a limit N replicas multiply."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IngestAttemptFailed(RagwrightError):
    """One attempt of a queued ingest job failed as a whole (its worker subprocess died, the store failed): the
    queue retries it after a backoff, and dead-letters it after ``[queue] retries``."""


class ModelError(RagwrightError):
    """A local model could not be loaded or run."""


class RemoteModelError(ModelError):
    """A remote embedding or re-ranking endpoint failed after its retries, or answered something unusable (wrong
    dimension, wrong count). ``cause`` is the gateway error of the last attempt, when there was one."""

    def __init__(self, message: str, *, endpoint: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.cause = cause


class GenerationCancelled(ModelError):
    """A local generation was stopped before its end because its caller gave up on it (a timeout, a cancelled
    request): llama.cpp stops at the next token, so an abandoned call does not keep the model busy."""


class ModelContextExceeded(ModelError):
    """A local model's own tokenizer found the prompt too long for its context: ``tokens`` it counted, ``limit`` its
    context size (the local provider reports it as the gateway's ContextLengthExceeded)."""

    def __init__(self, message: str, *, tokens: int | None = None, limit: int | None = None) -> None:
        super().__init__(message)
        self.tokens = tokens
        self.limit = limit


class ModelNotInstalledError(ModelError, UserError):
    """A model package is missing; the message names the install command."""


class ModelChecksumError(ModelError):
    """Model bytes do not match their pinned sha256 and size: they are refused, never loaded."""


class GatewayError(RagwrightError):
    """Base of model-call errors raised by the gateway.

    ``transient`` is True when the same call may succeed if repeated (the retry policy retries only those);
    ``provider`` names the ``provider:model`` that failed when one did.
    """

    transient: bool = False

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class ProviderHTTPError(GatewayError):
    """The provider answered with an error status. 408, 409, 429 and 5xx are transient; other 4xx are not."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        provider: str | None = None,
        retry_after: float | None = None,
        body: str = "",
    ) -> None:
        super().__init__(
            f"{provider or 'provider'} returned HTTP {status}" + (f": {message}" if message else ""), provider=provider
        )
        self.status = status
        self.retry_after = retry_after
        self.body = body[:2000]
        self.transient = status in (408, 409, 425, 429) or status >= 500


class ProviderTimeout(GatewayError):
    """A deadline passed. ``phase`` is 'connect', 'first_token' or 'total'."""

    transient = True

    def __init__(self, phase: str, seconds: float, *, provider: str | None = None) -> None:
        super().__init__(
            f"{provider or 'provider'}: no {phase.replace('_', ' ')} within {seconds:g}s", provider=provider
        )
        self.phase = phase
        self.seconds = seconds


class ProviderConnectionError(GatewayError):
    """The provider could not be reached (connection refused or reset)."""

    transient = True


class ProviderUnavailable(GatewayError):
    """The provider cannot be used in this setup: its API key is not set or its model package is missing.

    Not transient (retrying cannot help) but a fallback chain moves on to the next model: this is how a chain such
    as ``["openai:gpt-4o-mini", "local:smollm2"]`` degrades on a machine with no key and no network.
    """


class ProviderProtocolError(GatewayError):
    """The provider's reply is not its API: malformed JSON, wrong content type, oversized or truncated body."""

    transient = True


class StreamInterrupted(GatewayError):
    """A stream failed after content reached the caller. Never retried or fallen back silently: the caller must
    tell its client (the HTTP layers send an explicit error event)."""

    def __init__(self, message: str, *, provider: str | None = None, cause: BaseException | None = None) -> None:
        super().__init__(message, provider=provider)
        self.cause = cause


class RateLimited(GatewayError):
    """Over a configured RPM/TPM limit. ``scope`` says which limit ('key:abc rpm', 'model:openai:gpt-4o tpm')."""

    def __init__(self, scope: str, *, retry_after: float | None = None, provider: str | None = None) -> None:
        super().__init__(
            f"rate limit reached for {scope}" + (f"; retry in {retry_after:.1f}s" if retry_after else ""),
            provider=provider,
        )
        self.scope = scope
        self.retry_after = retry_after


class BudgetExceeded(GatewayError):
    """The budget left (USD) cannot cover the call's worst-case cost; ``resets_at`` is a UTC epoch second."""

    def __init__(self, scope: str, *, remaining: float, resets_at: float, needed: float | None = None) -> None:
        need = f" (this call may cost up to ${needed:.6f})" if needed is not None else ""
        super().__init__(f"budget for {scope} exhausted: ${remaining:.6f} left{need}")
        self.scope = scope
        self.remaining = remaining
        self.resets_at = resets_at
        self.needed = needed


class CircuitOpen(GatewayError):
    """The breaker for ``provider`` is open after repeated failures; it lets one probe through after ``retry_after``."""

    def __init__(self, provider: str, *, retry_after: float) -> None:
        super().__init__(f"circuit open for {provider}; next probe in {retry_after:.1f}s", provider=provider)
        self.retry_after = retry_after


class ContextLengthExceeded(GatewayError):
    """The request is longer than the model's context window (a fallback skips to a model with a larger one)."""

    def __init__(
        self, message: str, *, provider: str | None = None, tokens: int | None = None, limit: int | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.tokens = tokens
        self.limit = limit


class ContentFiltered(GatewayError):
    """The provider refused the request or the reply on content grounds."""


class AllProvidersFailed(GatewayError):
    """Every model in the chain failed; ``attempts`` holds ``(provider, error)`` in the order they were tried."""

    def __init__(self, attempts: list[tuple[str, GatewayError]]) -> None:
        lines = "; ".join(f"{p}: {type(e).__name__}: {e}" for p, e in attempts) or "no model was tried"
        super().__init__(f"all models failed ({lines})")
        self.attempts = attempts


class JudgeOutputError(GatewayError):
    """An eval judge replied twice with JSON that does not match its rubric's schema; ``detail`` says why."""

    def __init__(self, rubric: str, detail: str, *, provider: str | None = None) -> None:
        super().__init__(
            f"judge reply for rubric {rubric!r} is not valid JSON for its schema: {detail}", provider=provider
        )
        self.rubric = rubric
        self.detail = detail
