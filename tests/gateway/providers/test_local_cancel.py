"""A local generation that times out is stopped, not left running while the gateway retries it.

The engine here is a fake of xllamacpp's ``Server`` (the object ``LocalGenerator`` drives): it produces one token
every few milliseconds, one request at a time like llama.cpp's single slot, and in streaming mode stops when the
callback returns True (what xllamacpp does: the response reader is dropped and llama.cpp cancels the task). The real
SmolLM2 path is covered in ``tests/models/test_generator.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragwright.errors import ProviderTimeout
from ragwright.gateway.policies.retry import Retry
from ragwright.gateway.policies.timeout import Timeout
from ragwright.gateway.providers.local import LocalChatModel
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.generator import LocalGenerator

TOKENS = 1000  # one full generation: TOKENS * TOKEN_SECONDS = 10 s (three timed-out attempts of 0.2 s each stop
# far below it, even when a loaded machine makes each stop late; ones that ran on would make 3,000)


class SlowEngine:
    """Stands in for ``xllamacpp.Server``: ``handle_chat_completions(request, callback=None)``."""

    token_seconds = 0.01

    def __init__(self) -> None:
        self.tokens = 0
        self.active = 0
        self.max_active = 0
        self.requests = 0
        self._slot = threading.Lock()
        self._count = threading.Lock()

    def handle_chat_completions(self, request: dict[str, Any], callback: Callable[[Any], bool] | None = None) -> Any:
        with self._slot:
            with self._count:
                self.requests += 1
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            try:
                text = []
                for _ in range(min(TOKENS, int(request["max_tokens"]))):
                    time.sleep(self.token_seconds)
                    with self._count:
                        self.tokens += 1
                    text.append("tok ")
                    if request.get("stream") and callback is not None:
                        chunk = {"choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}]}
                        if callback(chunk):
                            return None
                if request.get("stream") and callback is not None:
                    callback({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
                    return None
                return {"choices": [{"message": {"role": "assistant", "content": "".join(text)}}]}
            finally:
                with self._count:
                    self.active -= 1


class EngineGenerator(LocalGenerator):
    """The real LocalGenerator, with the fake engine where llama.cpp would be loaded."""

    def __init__(self, gguf: Path, engine: SlowEngine) -> None:
        super().__init__(gguf, name="slow")
        self.engine = engine

    def _start(self) -> Any:
        return self.engine


@pytest.fixture
def engine() -> SlowEngine:
    return SlowEngine()


@pytest.fixture
def local(tmp_path: Path, engine: SlowEngine) -> LocalChatModel:
    gguf = tmp_path / "slow.gguf"
    gguf.write_bytes(b"GGUF")
    return LocalChatModel("slow", generator=EngineGenerator(gguf, engine))


REQUEST = ChatRequest(model="local:slow", messages=(Message("user", "Tell me everything."),), max_tokens=1000)


async def wait_idle(engine: SlowEngine) -> None:
    while engine.active or engine.requests == 0:
        await asyncio.sleep(0.01)


async def test_a_timed_out_generation_stops_instead_of_running_on_under_the_retries(
    local: LocalChatModel, engine: SlowEngine
) -> None:
    model = Retry(Timeout(local, total=0.2), max_attempts=3, base_delay=0.0, max_delay=0.0)
    with pytest.raises(ProviderTimeout):
        await model.chat(REQUEST)
    await wait_idle(engine)
    assert engine.max_active == 1, "a retry must never run beside the generation it replaces"
    # three attempts of 0.2 s each stop at their next token: together far less than one full generation
    assert engine.tokens < TOKENS, f"{engine.tokens} tokens generated: the timed-out generations kept running"


async def test_a_completed_generation_streams_the_whole_reply(local: LocalChatModel, engine: SlowEngine) -> None:
    reply = await local.chat(ChatRequest(model="local:slow", messages=(Message("user", "Hi"),), max_tokens=3))
    assert reply.text == "tok tok tok"
    assert engine.tokens == 3
