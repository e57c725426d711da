"""The official `openai` client against the running service: models, chat completions plain and streaming."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from ragwright.errors import ProviderHTTPError
from ragwright.testing import FakeChatModel, Reply
from tests.http.conftest import Server

ROTATION = b"# Key rotation\n\nRotate the API key every 90 days from the admin console.\n"
QUESTION = "How often should the API key be rotated?"


def _client(server: Server, key: str) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)


def test_models_list(server: Server) -> None:
    key = server.key()
    server.upload(key, {"rotation.md": ROTATION}, kb="security")
    ids = [m.id for m in _client(server, key).models.list()]
    assert ids[:2] == ["rag:default", "rag:security"]


def test_rag_chat_plain_has_citations_in_message_and_field(server: Server) -> None:
    key = server.key()
    server.upload(key, {"rotation.md": ROTATION})
    reply = _client(server, key).chat.completions.create(
        model="rag:default",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
    )
    content = reply.choices[0].message.content or ""
    assert "90 days" in content and "[1]" in content and "Sources:\n[1] rotation.md" in content
    assert reply.choices[0].finish_reason == "stop"
    citations = (reply.model_extra or {})["citations"]
    assert citations[0]["doc_id"] == "rotation.md" and "90 days" in citations[0]["snippet"]


def test_rag_chat_streaming(server: Server) -> None:
    key = server.key()
    server.upload(key, {"rotation.md": ROTATION})
    stream = _client(server, key).chat.completions.create(
        model="rag:default",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "90 days" in text and "Sources:" in text
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop" and (last.model_extra or {})["citations"][0]["n"] == 1
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_rag_chat_for_an_unknown_kb_is_model_not_found(server: Server) -> None:
    """It answered 200 "the documents do not contain the answer" before (issue 11); test failed before the fix."""
    key = server.key()
    with pytest.raises(openai.NotFoundError) as err:
        _client(server, key).chat.completions.create(model="rag:nope", messages=[{"role": "user", "content": QUESTION}])
    assert err.value.status_code == 404 and err.value.body["type"] == "model_not_found"  # type: ignore[index]
    server.upload(key, {"rotation.md": ROTATION}, kb="security")  # a knowledge base that exists answers
    reply = _client(server, key).chat.completions.create(
        model="rag:security", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "90 days" in (reply.choices[0].message.content or "")


def test_passthrough_plain_and_streaming(server: Server) -> None:
    model = server.models["fake:m"] = FakeChatModel(["Hello from the gateway.", "Streaming works fine."], name="fake:m")
    key = server.key(tags=("team",))
    client = _client(server, key)
    reply = client.chat.completions.create(model="fake:m", messages=[{"role": "user", "content": "Hi"}], max_tokens=20)
    assert reply.choices[0].message.content == "Hello from the gateway."
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    stream = client.chat.completions.create(
        model="fake:m", messages=[{"role": "user", "content": "Again"}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Streaming works fine."
    assert chunks[-1].choices[0].finish_reason == "stop"
    first = model.requests[0]
    assert first.max_tokens == 20 and first.context.tenant == "acme" and first.context.tags == ("team",)


def test_stream_cut_after_first_chunk_is_an_error_not_a_short_success(server: Server) -> None:
    server.models["fake:cut"] = FakeChatModel([Reply("one two three four", cut_after=2)], name="fake:cut")
    client = _client(server, server.key())
    got: list[str] = []
    with pytest.raises(openai.APIError) as err:
        for chunk in client.chat.completions.create(
            model="fake:cut", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            got.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(got) == "one two" and "cut" in str(err.value)


def test_failure_before_first_chunk_is_an_http_error(server: Server) -> None:
    server.models["fake:down"] = FakeChatModel(
        [ProviderHTTPError(503, "overloaded", provider="fake:down")] * 2, name="fake:down"
    )
    client = _client(server, server.key())
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="fake:down", messages=[{"role": "user", "content": "x"}], stream=True)
    assert err.value.status_code == 503
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="fake:down", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 503 and err.value.body["type"] == "upstream_unavailable"  # type: ignore[index]


def test_unauthorized_and_unknown_model(server: Server) -> None:
    with pytest.raises(openai.AuthenticationError):
        _client(server, "rw_nope").models.list()
    with pytest.raises(openai.NotFoundError):
        _client(server, server.key()).chat.completions.create(
            model="gpt-nope", messages=[{"role": "user", "content": "x"}]
        )
