"""Errors of getting documents in and keeping them: ingest (per file, per queued attempt), the store, and the shared
state replicas use. See :mod:`ragwright.errors` for the whole tree."""

from __future__ import annotations

from ragwright.errors.base import RagwrightError, UserError


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
