"""One table from the error tree (:mod:`ragwright.errors`) to HTTP: status, ``type``, ``code``, message, Retry-After.

Both OpenAI-compatible front ends use it: the proxy (``ragwright gateway serve``, :mod:`ragwright.gateway.proxy`) and
the service (``ragwright serve``, :mod:`ragwright.interfaces.http.errors`), so one failure gets one answer wherever a
client meets it. The statuses follow OpenAI's semantics, which is what clients and their SDKs act on:

==============================================  ======  ======================  ==================================
raised                                          status  ``type``                ``code``
==============================================  ======  ======================  ==================================
``UnknownModel``                                404     model_not_found         model_not_found
``SecretMissing`` (server setup; message hid)   503     unavailable             provider_not_configured
other ``ConfigError`` (server setup)            500     internal_error          gateway_misconfigured
``NotIndexedError`` (index/embedder mismatch)   503     unavailable             index_unusable
``AccessDenied`` (the key's tags forbid it)      403     forbidden               forbidden
``PromptNotFound``                              404     not_found               prompt_not_found
``AgentRunError`` (e.g. the run is not paused)   409     conflict                conflict
(incl. ``EditedArgumentsInvalid``)
``JobNotCancellable`` (the job ended)            409     conflict                conflict
``JobNotRetryable`` (not dead-lettered)          409     conflict                conflict
``TraceNotFound`` (or another tenant's trace)    404     not_found               not_found
``EvalRunNotFound`` (run or dataset)             404     not_found               not_found
``EvalRunExists`` (a run of that name)           409     conflict                conflict
``AgentRunNotFound``, ``KeyNotFound``            404     not_found               not_found
``JobNotFound`` (or another tenant's job)        404     not_found               not_found
other ``UserError``                             400     bad_request             bad_request
``RateLimited``                                 429     rate_limited            rate_limit_exceeded  + Retry-After
``BudgetExceeded``                              429     budget_exceeded         budget_exceeded      + Retry-After
``ContextLengthExceeded``                       400     context_length_exceeded context_length_exceeded
``ContentFiltered``                             400     content_filtered        content_filter
``CircuitOpen``                                 503     upstream_unavailable    circuit_open         + Retry-After
``ProviderUnavailable`` (no key, no package)    503     upstream_unavailable    provider_unavailable
``ProviderTimeout``                             504     upstream_timeout        upstream_timeout
``ProviderHTTPError`` 429                       429     rate_limited            upstream_rate_limited + Retry-After
``ProviderHTTPError`` 400/404/413/422           400     bad_request             upstream_<status> (the request's)
``ProviderHTTPError`` 503                       503     upstream_unavailable    upstream_503         + Retry-After
``ProviderHTTPError`` other                     502     upstream_error          upstream_<status>
``ProviderConnectionError``                     502     upstream_error          upstream_unreachable
``ProviderProtocolError``                       502     upstream_error          upstream_protocol_error
``StreamInterrupted``                           502     upstream_error          stream_interrupted
``AllProvidersFailed``                          (see :func:`_chain`: a 4xx shared by every attempt, else the last
                                                attempt's 5xx, at least 502)
``JudgeOutputError``, other ``GatewayError``    502     upstream_error          upstream_error
``DiskFull`` / ``OSError(ENOSPC)``              507     no_space                disk_full
other ``StoreError``                            503     unavailable             store_unavailable
``SharedStateUnavailable`` (Redis)              503     unavailable             shared_state_unavailable + Retry-After
``ModelError`` (incl. ``ModelNotInstalled``,  503     unavailable             model_unavailable
``RemoteModelError``: a remote embedder)
other ``RagwrightError``                        500     internal_error          internal_error
anything else                                   500     internal_error          internal_error (message: an incident
                                                                                id; details in the log)
==============================================  ======  ======================  ==================================

Example::

    err = http_error(exc)
    return JSONResponse({"error": {"type": err.type, "message": err.message}}, err.status, headers=err.headers())
"""

from __future__ import annotations

import errno
import logging
import math
import time
import traceback
import uuid
from dataclasses import dataclass, replace

from ragwright.errors import (
    AccessDenied,
    AgentRunError,
    AgentRunNotFound,
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    ContentFiltered,
    ContextLengthExceeded,
    DiskFull,
    EvalRunExists,
    EvalRunNotFound,
    GatewayError,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
    KeyNotFound,
    ModelError,
    NotIndexedError,
    PromptNotFound,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
    RagwrightError,
    RateLimited,
    SecretMissing,
    SharedStateUnavailable,
    StoreError,
    StreamInterrupted,
    TraceNotFound,
    UnknownModel,
    UserError,
)
from ragwright.redact import redact

__all__ = ["HttpError", "http_error", "retry_after_header"]

log = logging.getLogger("ragwright.errors")

NO_SPACE = "no space left on device: the write was not made; reads are still served"
NOT_CONFIGURED = "a model provider is not configured on the server"
REQUEST_FAULT_STATUSES = frozenset((400, 404, 413, 422))
"""Upstream statuses caused by the request itself: the client's to fix, not a sign that the provider is failing."""


@dataclass(frozen=True, slots=True)
class HttpError:
    """What a front end sends for one error: status, ``type`` (ragwright's category), ``code`` (the precise reason,
    OpenAI's where it has one), the message and, for 429/503, seconds until a retry may succeed."""

    status: int
    type: str
    code: str
    message: str
    retry_after: float | None = None

    def headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds (at least 1) when known, else nothing."""
        return retry_after_header(self.retry_after)


def retry_after_header(seconds: float | None) -> dict[str, str]:
    return {} if seconds is None else {"Retry-After": str(max(1, math.ceil(seconds)))}


def http_error(exc: BaseException) -> HttpError:
    """The response for ``exc`` (see the module's table). Server-side failures are logged here, once. Messages and
    log lines go through :func:`~ragwright.redact.redact`: an upstream's error text may quote a credential."""
    err = _classify(exc, redact(str(exc)))
    return replace(err, message=redact(err.message))


def _classify(exc: BaseException, text: str) -> HttpError:
    if isinstance(exc, GatewayError):
        return _gateway(exc)
    if isinstance(exc, UnknownModel):
        return HttpError(404, "model_not_found", "model_not_found", text)
    if isinstance(exc, SecretMissing):
        log.error("configuration: %s", text)
        return HttpError(503, "unavailable", "provider_not_configured", NOT_CONFIGURED)
    if isinstance(exc, ConfigError):
        log.error("configuration: %s", text)
        return HttpError(500, "internal_error", "gateway_misconfigured", f"{type(exc).__name__}: {text}")
    if isinstance(exc, NotIndexedError):  # the routes answer "nothing indexed yet" themselves; this is a mismatch
        log.error("index unusable: %s", text)
        return HttpError(503, "unavailable", "index_unusable", text)
    if isinstance(exc, ModelError):  # before UserError: ModelNotInstalledError is both, and the server must act
        log.error("service unavailable: %s", text)
        return HttpError(503, "unavailable", "model_unavailable", text)
    if isinstance(exc, UserError):
        return _user(exc, text)
    if isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
        log.error("disk full: %s", text)
        return HttpError(507, "no_space", "disk_full", NO_SPACE)
    if isinstance(exc, SharedStateUnavailable):
        log.error("shared state unavailable: %s", text)
        return HttpError(503, "unavailable", "shared_state_unavailable", text, exc.retry_after)
    if isinstance(exc, StoreError):
        log.error("service unavailable: %s", text)
        return HttpError(503, "unavailable", "store_unavailable", text)
    if isinstance(exc, RagwrightError):
        log.error("internal error: %s: %s", type(exc).__name__, text)
        return HttpError(500, "internal_error", "internal_error", text)
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error %s\n%s", incident, redact("".join(traceback.format_exception(exc))))
    return HttpError(
        500, "internal_error", "internal_error", f"internal error (incident {incident}); the server log has the details"
    )


def _user(exc: UserError, text: str) -> HttpError:
    """A mistake the caller can fix: 400, or the more precise status of its kind."""
    if isinstance(exc, AccessDenied):
        return HttpError(403, "forbidden", "forbidden", text)
    if isinstance(exc, PromptNotFound):
        return HttpError(404, "not_found", "prompt_not_found", text)
    if isinstance(exc, TraceNotFound | AgentRunNotFound | KeyNotFound | JobNotFound):
        return HttpError(404, "not_found", "not_found", text)
    if isinstance(exc, AgentRunError | JobNotCancellable | JobNotRetryable):
        return HttpError(409, "conflict", "conflict", text)
    if isinstance(exc, EvalRunNotFound):
        return HttpError(404, "not_found", "not_found", text)
    if isinstance(exc, EvalRunExists):
        return HttpError(409, "conflict", "conflict", text)
    return HttpError(400, "bad_request", "bad_request", text)


def _gateway(exc: GatewayError) -> HttpError:
    message = str(exc)
    if isinstance(exc, AllProvidersFailed):
        return _chain(exc)
    if isinstance(exc, RateLimited):
        return HttpError(429, "rate_limited", "rate_limit_exceeded", message, exc.retry_after)
    if isinstance(exc, BudgetExceeded):
        return HttpError(429, "budget_exceeded", "budget_exceeded", message, max(0.0, exc.resets_at - time.time()))
    if isinstance(exc, ContextLengthExceeded):
        return HttpError(400, "context_length_exceeded", "context_length_exceeded", message)
    if isinstance(exc, ContentFiltered):
        return HttpError(400, "content_filtered", "content_filter", message)
    if isinstance(exc, CircuitOpen):
        return HttpError(503, "upstream_unavailable", "circuit_open", message, exc.retry_after)
    if isinstance(exc, ProviderUnavailable):
        return HttpError(503, "upstream_unavailable", "provider_unavailable", message)
    if isinstance(exc, ProviderTimeout):
        return HttpError(504, "upstream_timeout", "upstream_timeout", message)
    if isinstance(exc, ProviderHTTPError):
        return _upstream_status(exc, message)
    if isinstance(exc, ProviderConnectionError):
        return HttpError(502, "upstream_error", "upstream_unreachable", message)
    if isinstance(exc, ProviderProtocolError):
        return HttpError(502, "upstream_error", "upstream_protocol_error", message)
    if isinstance(exc, StreamInterrupted):
        return HttpError(502, "upstream_error", "stream_interrupted", message)
    return HttpError(502, "upstream_error", "upstream_error", message)


def _upstream_status(exc: ProviderHTTPError, message: str) -> HttpError:
    code = f"upstream_{exc.status}"
    if exc.status == 429:
        return HttpError(429, "rate_limited", "upstream_rate_limited", message, exc.retry_after)
    if exc.status in REQUEST_FAULT_STATUSES:
        return HttpError(400, "bad_request", code, message)
    if exc.status == 503:
        return HttpError(503, "upstream_unavailable", code, message, exc.retry_after)
    return HttpError(502, "upstream_error", code, message)


def _chain(exc: AllProvidersFailed) -> HttpError:
    """A failed chain answers as its most telling member: when every attempt failed with the same client-side status
    (all rate-limited, all over the context window), that status, with the soonest retry; otherwise the last
    attempt's server-side status, at least 502 (a 401 from the last provider is our gateway's failure, not the
    client's)."""
    if not exc.attempts:
        return HttpError(502, "upstream_error", "all_providers_failed", str(exc))
    each = [_gateway(e) for _, e in exc.attempts]
    last = each[-1]
    if last.status < 500 and all(e.status == last.status and e.type == last.type for e in each):
        waits = [e.retry_after for e in each if e.retry_after is not None]
        return replace(last, message=str(exc), retry_after=min(waits) if len(waits) == len(each) else None)
    status = last.status if last.status >= 500 else 502
    kind = last.type if last.status >= 500 else "upstream_error"
    return HttpError(status, kind, last.code, str(exc))
