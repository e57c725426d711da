"""Remote embedders and re-rankers against a loopback server that serves the local MiniLM's vectors, faults included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragwright.config import RetrySettings, TimeoutSettings, load_settings
from ragwright.errors import ConfigError, ProviderHTTPError, ProviderTimeout, RemoteModelError, StoreError
from ragwright.models.base import Embedder, Reranker
from ragwright.models.embedder import OnnxEmbedder
from ragwright.models.registry import embedder_from_settings, make_embedder, make_reranker, reranker_from_settings
from ragwright.models.remote_embedder import RemoteEmbedder
from ragwright.testing.embedding_server import EmbeddingServer
from ragwright.testing.loopback_http import Plan

TEXTS = [f"passage {i} about {topic}" for i, topic in enumerate(["rain", "stocks", "cells", "keys", "disks"] * 2)]
FAST_RETRY = RetrySettings(max_attempts=3, base_delay=0.0, max_delay=0.0)


@pytest.fixture(scope="module")
def minilm(minilm_model: Path, minilm_tokenizer: Path) -> OnnxEmbedder:
    return OnnxEmbedder(minilm_model, minilm_tokenizer, max_length=128, threads=1, name="minilm")


@pytest.fixture
def server(minilm: OnnxEmbedder) -> Iterator[EmbeddingServer]:
    with EmbeddingServer(minilm) as srv:
        yield srv  # type: ignore[misc]


def remote(server: EmbeddingServer, **kw: object) -> RemoteEmbedder:
    kw.setdefault("retry", FAST_RETRY)
    return RemoteEmbedder(f"{server.base_url}#minilm", **kw)  # type: ignore[arg-type]


def test_vectors_are_the_local_models_in_order_across_batches(server: EmbeddingServer, minilm: OnnxEmbedder) -> None:
    emb = remote(server, batch_size=3)
    assert emb.name == "openai-embed:minilm"
    got = emb.embed(TEXTS)
    assert got.shape == (10, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, minilm.embed(TEXTS), atol=1e-5)
    assert server.request_count == 4  # 3 + 3 + 3 + 1
    sent = sorted(r.body["input"] for r in server.requests)  # 4 in flight at once: they arrive in any order
    assert sent == sorted([TEXTS[0:3], TEXTS[3:6], TEXTS[6:9], TEXTS[9:]])
    assert emb.dim == 384 and server.request_count == 4  # learnt from the replies, no probe
    assert isinstance(emb, Embedder)
    np.testing.assert_allclose(emb.embed_query("rain"), minilm.embed(["rain"])[0], atol=1e-5)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_at_most_concurrency_requests_in_flight(minilm: OnnxEmbedder, concurrency: int) -> None:
    with EmbeddingServer(minilm, default=Plan(delay=0.1)) as server:
        remote(server, batch_size=1, concurrency=concurrency).embed(TEXTS[:8])
        assert server.request_count == 8
        assert server.connections == concurrency  # one connection per request in flight, reused after


def test_a_transient_failure_is_retried_by_the_gateway_policy(server: EmbeddingServer) -> None:
    server.enqueue(Plan(status=500), Plan(status=503, retry_after="0"))
    assert remote(server).embed(TEXTS[:2]).shape == (2, 384)
    assert server.request_count == 3


def test_persistent_500_fails_after_the_configured_attempts(server: EmbeddingServer) -> None:
    server.enqueue(*[Plan(status=500)] * 3)
    with pytest.raises(RemoteModelError) as err:
        remote(server).embed(TEXTS[:2])
    assert isinstance(err.value.cause, ProviderHTTPError) and err.value.cause.status == 500
    assert server.request_count == 3 and "HTTP 500" in str(err.value)


def test_a_client_error_is_not_retried(server: EmbeddingServer) -> None:
    server.enqueue(Plan(status=400, error_message="input too long"))
    with pytest.raises(RemoteModelError, match="input too long"):
        remote(server).embed(TEXTS[:2])
    assert server.request_count == 1


def test_a_hung_request_times_out_and_is_retried(server: EmbeddingServer) -> None:
    server.enqueue(Plan(hang=True))
    # the hung request ends after 3 s; the retry, answered at once, has as long (0.5 s could end it under load)
    emb = remote(server, timeout=TimeoutSettings(connect=30, first_token=3, total=3))
    assert emb.embed(TEXTS[:1]).shape == (1, 384)
    assert server.request_count == 2
    server.enqueue(Plan(hang=True), Plan(hang=True))
    with pytest.raises(RemoteModelError) as err:
        remote(server, timeout=TimeoutSettings(total=0.3), retry=RetrySettings(max_attempts=2, base_delay=0)).embed(
            TEXTS[:1]
        )
    assert isinstance(err.value.cause, ProviderTimeout)


def test_a_reply_of_the_wrong_dimension_is_refused(server: EmbeddingServer) -> None:
    emb = remote(server)
    assert emb.dim == 384  # one probe request
    server.enqueue(Plan(vector_dim=768))
    with pytest.raises(RemoteModelError, match="768-dimensional vectors, expected 384"):
        emb.embed(TEXTS[:2])
    server.enqueue(Plan(vector_dim=768))
    with pytest.raises(RemoteModelError, match="768-dimensional vectors, expected 384"):
        remote(server, dim=384).embed(TEXTS[:2])  # a configured dimension is checked from the first reply


def test_malformed_or_short_replies_are_errors(server: EmbeddingServer) -> None:
    server.enqueue(Plan(malformed=True), Plan(malformed=True), Plan(malformed=True))
    with pytest.raises(RemoteModelError, match="malformed JSON"):
        remote(server).embed(TEXTS[:2])


def test_the_api_key_is_sent_and_never_shown(
    minilm: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EMBED_KEY", "sk-remote-embed-0123456789")
    with EmbeddingServer(minilm, api_key="sk-remote-embed-0123456789") as server:
        assert remote(server, api_key="env:EMBED_KEY").embed(TEXTS[:1]).shape == (1, 384)
        assert server.requests[-1].headers["authorization"] == "Bearer sk-remote-embed-0123456789"
        monkeypatch.setenv("EMBED_KEY", "sk-wrong-key-0123456789")
        server.enqueue(Plan(status=401, echo_auth=True))
        with pytest.raises(RemoteModelError) as err:
            remote(server, api_key="env:EMBED_KEY").embed(TEXTS[:1])
    assert "HTTP 401" in str(err.value) and "sk-wrong-key" not in str(err.value)
    assert "[redacted]" in str(err.value) and "sk-wrong-key" not in caplog.text


def test_specs_resolve_through_the_registry_and_bad_ones_say_the_form(server: EmbeddingServer) -> None:
    emb = make_embedder(f"openai-embed:{server.base_url}#minilm", retry=FAST_RETRY)
    assert isinstance(emb, RemoteEmbedder) and emb.endpoint.model == "minilm"
    for bad in ("openai-embed:http://host:1/v1", "openai-embed:ftp://host/v1#m", "openai-embed:#m"):
        with pytest.raises(ConfigError, match=r"openai-embed:http://host:port/v1#model-name"):
            make_embedder(bad)
    settings = load_settings(
        embedding={"model": f"openai-embed:{server.base_url}#minilm", "remote_batch": 2, "remote_concurrency": 3}
    )
    built = embedder_from_settings(settings.embedding, settings.gateway)
    assert isinstance(built, RemoteEmbedder) and built.batch_size == 2 and built.concurrency == 3
    with pytest.raises(ConfigError):
        load_settings(embedding={"model": "minilm", "api_key": "sk-inline-key"})  # only references


def test_an_index_built_with_another_embedder_refuses_the_remote_one(server: EmbeddingServer, tmp_path: Path) -> None:
    from ragwright.app import Ragwright
    from ragwright.errors import NotIndexedError

    docs = Path(__file__).resolve().parents[2] / "examples" / "sample-docs"
    remote_spec = f"openai-embed:{server.base_url}#minilm"
    app = Ragwright(load_settings(data_dir=tmp_path, embedding={"model": remote_spec}))
    report = app.ingest([docs])
    assert report.failures == [] and app.store.embedding_model == "openai-embed:minilm"
    assert app.store.embedding_dim == 384 and server.texts_embedded > 0
    assert app.search("What does error Q-214 mean?", k=1).hits[0].chunk.doc_path.endswith("troubleshooting.md")
    app.close()

    other = Ragwright(load_settings(data_dir=tmp_path, embedding={"model": "fake"}))
    with pytest.raises(NotIndexedError, match="built with openai-embed:minilm"):
        other.search("Q-214", k=1)
    with pytest.raises(StoreError, match="built with embedder openai-embed:minilm"):
        other.ingest([docs / "troubleshooting.md"])
    other.close()


@pytest.mark.parametrize("wire", ["tei", "cohere"])
def test_rerankers_score_each_passage_in_order(server: EmbeddingServer, minilm: OnnxEmbedder, wire: str) -> None:
    base = server.url if wire == "tei" else server.base_url  # TEI: <url>/rerank; Cohere-style: <url>/v1/rerank
    rr = make_reranker(f"{wire}-rerank:{base}#minilm", batch_size=4, retry=FAST_RETRY)
    assert isinstance(rr, Reranker) and rr.name == f"{wire}-rerank:minilm"
    server.enqueue(Plan(status=502))
    scores = rr.score("rain", TEXTS)
    vectors = minilm.embed(["rain", *TEXTS])
    np.testing.assert_allclose(scores, vectors[1:] @ vectors[0], atol=1e-5)
    assert server.request_count == 4  # one 502, retried, then 4 + 4 + 2 passages
    assert rr.score("rain", []).shape == (0,)


def test_reranker_from_settings_takes_the_key_reference(
    server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        retrieval={"reranker": f"tei-rerank:{server.url}#minilm", "reranker_api_key": "env:RERANK_KEY"}
    )
    rr = reranker_from_settings(settings.retrieval, settings.gateway)
    monkeypatch.setenv("RERANK_KEY", "rk-0123456789abcdef")
    assert rr is not None and rr.score("q", ["a", "b"]).shape == (2,)
    assert server.requests[-1].headers["authorization"] == "Bearer rk-0123456789abcdef"


def test_calls_reuse_the_pooled_connection(server: EmbeddingServer) -> None:
    embedder = remote(server, batch_size=4, concurrency=1)
    for i in range(5):
        embedder.embed([f"text {i}", "another"])
    assert server.request_count == 5 and server.connections == 1  # one client for the embedder's life
    embedder._caller.close()
    embedder.embed(["after close"])  # a closed caller starts again
    assert server.connections == 2
