"""One error tree for ragwright.

Every failure a caller can act on is a subclass of :class:`RagwrightError`. The front doors (CLI, HTTP, MCP) translate
the root at their boundary: a :class:`UserError` is the user's to fix and is printed as one line (exit code 2 on the
CLI, 4xx over HTTP); everything else is ours or the environment's.

    RagwrightError
    ├── UserError                 bad input the user can fix: arguments, config, paths
    │   ├── ConfigError           ragwright.toml / RAGWRIGHT_* values that do not validate
    │   └── NotIndexedError       a command needs an index that does not exist yet
    ├── IngestError               one source could not be turned into chunks (reported per file, the run goes on)
    │   ├── UnsupportedFileError  no loader for this extension
    │   ├── EmptyDocumentError    nothing to index after extraction
    │   ├── FileTooLargeError     over `ingest.max_file_mb`
    │   ├── CorruptFileError      the bytes do not parse as the format they claim (incl. binary behind a text extension)
    │   ├── EncryptedFileError    password-protected document
    │   └── DecodeError           text that is not valid in any accepted encoding
    ├── StoreError                the index could not be read or written
    │   └── SchemaVersionError    the index was written by a newer ragwright
    ├── ModelError                a local model could not be loaded or run
    │   └── ModelNotInstalledError   a model package is missing (says which pip command installs it)
    └── GatewayError              model calls through the gateway (filled in by the gateway issue)
"""

from __future__ import annotations


class RagwrightError(Exception):
    """Root of every error ragwright raises on purpose."""


class UserError(RagwrightError):
    """Something the user can fix: printed as one line, exit code 2, never a traceback."""


class ConfigError(UserError):
    """Configuration that does not validate."""


class NotIndexedError(UserError):
    """The command needs an index (run `ragwright ingest` first)."""


class IngestError(RagwrightError):
    """A single source could not be ingested; `reason` is the one-line explanation shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedFileError(IngestError):
    pass


class EmptyDocumentError(IngestError):
    pass


class FileTooLargeError(IngestError):
    pass


class CorruptFileError(IngestError):
    pass


class EncryptedFileError(IngestError):
    pass


class DecodeError(IngestError):
    pass


class StoreError(RagwrightError):
    """The index could not be read or written."""


class SchemaVersionError(StoreError):
    pass


class ModelError(RagwrightError):
    """A local model could not be loaded or run."""


class ModelNotInstalledError(ModelError, UserError):
    """A model package is missing; the message names the install command."""


class GatewayError(RagwrightError):
    """Base of model-call errors raised by the gateway."""
