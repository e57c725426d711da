"""How library errors become HTTP errors (status, type, Retry-After), and that internal details stay in the log."""

from __future__ import annotations

import pytest

from ragwright.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContextLengthExceeded,
    CorruptFileError,
    ModelNotInstalledError,
    NotIndexedError,
    ProviderHTTPError,
    RateLimited,
    SecretMissing,
    StoreError,
    UnknownModel,
    UserError,
)
from ragwright.interfaces.http.errors import ApiError, translate


@pytest.mark.parametrize(
    ("exc", "status", "type_"),
    [
        (UserError("bad path"), 400, "bad_request"),
        (UnknownModel("unknown model 'x': use a provider:model spec", name="x"), 404, "model_not_found"),
        (SecretMissing("secret env:OPENAI_API_KEY is not set", ref="env:OPENAI_API_KEY"), 503, "unavailable"),
        (NotIndexedError("the index was built with a, but the configured embedder is b"), 503, "unavailable"),
        (RateLimited("key:abc rpm", retry_after=2.2), 429, "rate_limited"),
        (BudgetExceeded("tenant acme", remaining=0.0, resets_at=0.0), 429, "budget_exceeded"),
        (ContextLengthExceeded("too long"), 400, "context_length_exceeded"),
        (CircuitOpen("openai:gpt", retry_after=3.0), 503, "upstream_unavailable"),
        (AllProvidersFailed([("openai:gpt", ProviderHTTPError(500))]), 502, "upstream_error"),
        (StoreError("disk I/O error"), 503, "unavailable"),
        (ModelNotInstalledError("pip install ..."), 503, "unavailable"),
        (CorruptFileError("a.pdf", "not a PDF"), 500, "internal_error"),
        (ApiError(409, "conflict", "busy"), 409, "conflict"),
    ],
)
def test_library_errors_map_to_statuses(exc: Exception, status: int, type_: str) -> None:
    err = translate(exc)
    assert (err.status, err.type) == (status, type_)


def test_retry_after_is_passed_on() -> None:
    assert translate(RateLimited("key:abc rpm", retry_after=2.2)).headers == {"Retry-After": "3"}
    assert translate(CircuitOpen("openai:gpt", retry_after=0.4)).headers == {"Retry-After": "1"}


def test_missing_secret_message_does_not_name_the_variable() -> None:
    missing = SecretMissing("secret env:OPENAI_API_KEY is not set", ref="env:OPENAI_API_KEY")
    assert "OPENAI" not in translate(missing).message


def test_unexpected_errors_hide_details_behind_an_incident_id(caplog: pytest.LogCaptureFixture) -> None:
    err = translate(KeyError("/home/secret/path"))
    assert err.status == 500 and "secret" not in err.message and "incident" in err.message
    incident = err.message.split("incident ")[1].split(")")[0]
    assert any(incident in r.getMessage() for r in caplog.records)
