"""rag: chat and /v1/answer with a conversation, streamed sentence by sentence, usage from a tokenizer or provider."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from ragwright.config import load_settings
from ragwright.gateway.types import Usage
from ragwright.interfaces.http.app import create_app
from ragwright.testing import FakeChatModel, FakeEmbedder, Reply, ScriptedGateway
from tests.http.conftest import Server, clean_env, run_server

SAMPLES = Path(__file__).resolve().parents[2] / "examples/sample-docs"
WARRANTY = (SAMPLES / "warranty-and-service.pdf").read_bytes()
HISTORY = [
    {"role": "user", "content": "What does the Quillfin Vault warranty cover?"},
    {"role": "assistant", "content": "The Quillfin Vault Q2 has a 2-year limited hardware warranty. [1]"},
]
ROTATION = b"# Key rotation\n\nRotate the API key every 90 days from the admin console. Old keys stop at once.\n"


def _client(server: Server, key: str) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)


def test_rag_chat_follow_up_is_retrieved_with_the_history(server: Server) -> None:
    key = server.key()
    server.upload(key, {"warranty-and-service.pdf": WARRANTY, "rotation.md": ROTATION})
    messages = [*HISTORY, {"role": "user", "content": "Which parts are not?"}]
    reply = _client(server, key).chat.completions.create(model="rag:default", messages=messages)  # type: ignore[arg-type]
    content = reply.choices[0].message.content or ""
    assert "does not cover" in content and "warranty-and-service.pdf" in content
    prompt = "\n".join(m["content"] for m in messages)
    fake = FakeEmbedder()  # the service's embedder here: usage is its tokenizer's count, not a word count
    assert reply.usage is not None and reply.usage.prompt_tokens == fake.count_tokens(prompt)
    assert reply.usage.completion_tokens == fake.count_tokens(content)


@pytest.fixture
def generating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A service whose answers are written by the gateway's default model (a scripted fake)."""
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch)
    models: dict[str, FakeChatModel] = {}
    settings = load_settings(
        data_dir=tmp_path / "index",
        embedding={"model": "fake"},
        service={"rate_limit_rpm": None},
        gateway={"ledger": False},
        answer={"generator": "gateway"},
    )
    app = create_app(settings, gateway=ScriptedGateway(models))
    for url in run_server(app):
        yield Server(app, url, settings, models)


TEXT = (
    "Rotate the API key every 90 days from the admin console [1]. Penguins rotate it on the Moon [1]. "
    "Old keys stop at once [1]."
)


def _held(server: Server) -> threading.Event:
    hold = threading.Event()
    usage = Usage(input_tokens=321, output_tokens=17)
    server.models["default"] = FakeChatModel([Reply(TEXT, hold=hold, hold_after=14, usage=usage)], name="fake:m")
    return hold


def test_answer_sse_sends_the_first_verified_sentence_before_generation_ends(generating: Server) -> None:
    key = generating.key()
    generating.upload(key, {"rotation.md": ROTATION})
    hold = _held(generating)
    events: list[tuple[str, dict[str, object]]] = []
    with (
        generating.client(key) as c,
        c.stream("POST", "/v1/answer", json={"question": "How often is the API key rotated?", "stream": True}) as r,
    ):
        lines = r.iter_lines()
        for line in lines:
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
                events.append((name, json.loads(next(lines).removeprefix("data: "))))
                break
        # the model is blocked before its 15th word: the first sentence was verified and sent mid-generation
        assert events[0][0] == "delta" and not hold.is_set()
        assert events[0][1]["text"] == "Rotate the API key every 90 days from the admin console. [1]"
        hold.set()
        for line in lines:
            if line.startswith("event: "):
                events.append((line.removeprefix("event: "), json.loads(next(lines).removeprefix("data: "))))
    names = [n for n, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"delta"}
    shown = " ".join(str(d["text"]) for n, d in events if n == "delta")
    assert "Penguins" not in shown and shown == events[-1][1]["text"]
    assert "Penguins rotate it on the Moon." in events[-1][1]["flagged"]  # type: ignore[operator]


def test_rag_chat_stream_sends_the_first_verified_sentence_before_generation_ends(generating: Server) -> None:
    key = generating.key()
    generating.upload(key, {"rotation.md": ROTATION})
    hold = _held(generating)
    stream = _client(generating, key).chat.completions.create(
        model="rag:default",
        messages=[{"role": "user", "content": "How often is the API key rotated?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = iter(stream)
    first = next(c for c in chunks if c.choices and c.choices[0].delta.content)
    assert first.choices[0].delta.content == "Rotate the API key every 90 days from the admin console. [1]"
    assert not hold.is_set()  # the model has not finished: it waits for this test
    hold.set()
    rest = list(chunks)
    text = (first.choices[0].delta.content or "") + "".join(c.choices[0].delta.content or "" for c in rest if c.choices)
    assert "Penguins" not in text and "Sources:\n[1] rotation.md" in text
    assert rest[-1].usage is not None and (rest[-1].usage.prompt_tokens, rest[-1].usage.completion_tokens) == (321, 17)
