"""The root of the error tree and the errors a user can fix (bad input, unknown names, access), bar ingest and
store ones: see :mod:`ragwright.errors` for the whole tree."""

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


class JobNotFound(UserError):
    """No ingest job with this id in this tenant (another tenant's job reads as unknown, as over HTTP)."""


class JobNotRetryable(UserError):
    """The ingest job is not dead-lettered (it is waiting, running, succeeded, cancelled, or failed without the queue),
    or another retry took it first: only a dead-lettered job can be re-run (``ragwright queue retry``)."""


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
