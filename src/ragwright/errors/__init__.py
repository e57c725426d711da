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
    │   ├── JobNotCancellable     the ingest job has ended (or runs where it cannot be stopped): 409 over HTTP
    │   ├── JobNotFound           no ingest job with that id in this tenant: 404 over HTTP
    │   ├── JobNotRetryable       the ingest job is not dead-lettered, so `ragwright queue retry` cannot re-run it: 409
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

from ragwright.errors.base import (
    AccessDenied,
    AgentRunError,
    AgentRunNotFound,
    ConfigError,
    EditedArgumentsInvalid,
    EvalRunExists,
    EvalRunNotFound,
    ExtractionSchemaError,
    FetchRefused,
    InvalidFilterError,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
    KeyNotFound,
    NotIndexedError,
    PromptError,
    PromptNotFound,
    RagwrightError,
    SecretMissing,
    TraceNotFound,
    UnknownModel,
    UserError,
)
from ragwright.errors.data import (
    ArchiveLimitError,
    CorruptFileError,
    DecodeError,
    DiskFull,
    EmptyDocumentError,
    EncryptedFileError,
    FileTooLargeError,
    IngestAttemptFailed,
    IngestError,
    ResourceLimitError,
    SchemaVersionError,
    SharedStateUnavailable,
    StoreError,
    StoreUnavailable,
    TargetNotEmpty,
    UnsupportedFileError,
)
from ragwright.errors.models import (
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContentFiltered,
    ContextLengthExceeded,
    GatewayError,
    GenerationCancelled,
    JudgeOutputError,
    ModelChecksumError,
    ModelContextExceeded,
    ModelError,
    ModelNotInstalledError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RemoteModelError,
    StreamInterrupted,
)

__all__ = [
    "AccessDenied",
    "AgentRunError",
    "AgentRunNotFound",
    "AllProvidersFailed",
    "ArchiveLimitError",
    "BudgetExceeded",
    "CircuitOpen",
    "ConfigError",
    "ContentFiltered",
    "ContextLengthExceeded",
    "CorruptFileError",
    "DecodeError",
    "DiskFull",
    "EditedArgumentsInvalid",
    "EmptyDocumentError",
    "EncryptedFileError",
    "EvalRunExists",
    "EvalRunNotFound",
    "ExtractionSchemaError",
    "FetchRefused",
    "FileTooLargeError",
    "GatewayError",
    "GenerationCancelled",
    "IngestAttemptFailed",
    "IngestError",
    "InvalidFilterError",
    "JobNotCancellable",
    "JobNotFound",
    "JobNotRetryable",
    "JudgeOutputError",
    "KeyNotFound",
    "ModelChecksumError",
    "ModelContextExceeded",
    "ModelError",
    "ModelNotInstalledError",
    "NotIndexedError",
    "PromptError",
    "PromptNotFound",
    "ProviderConnectionError",
    "ProviderHTTPError",
    "ProviderProtocolError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RagwrightError",
    "RateLimited",
    "RemoteModelError",
    "ResourceLimitError",
    "SchemaVersionError",
    "SecretMissing",
    "SharedStateUnavailable",
    "StoreError",
    "StoreUnavailable",
    "StreamInterrupted",
    "TargetNotEmpty",
    "TraceNotFound",
    "UnknownModel",
    "UnsupportedFileError",
    "UserError",
]
