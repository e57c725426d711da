"""Errors of model calls: local models and the gateway (providers, limits, budgets, breakers, fallbacks, judges).
See :mod:`ragwright.errors` for the whole tree."""

from __future__ import annotations

from ragwright.errors.base import RagwrightError, UserError


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
    """A local model's own tokenizer found the prompt too long for its context, or the prompt left the reply too little
    room and the context filled before it ended: ``tokens`` it counted (with the reply's ``max_tokens`` in the second
    case), ``limit`` its context size (the local provider reports it as the gateway's ContextLengthExceeded)."""

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
