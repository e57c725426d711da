"""The provider registry (lazy, config-driven, secrets resolved at build time) and the local adapter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from ragwright.config import GatewaySettings, ProviderSettings
from ragwright.errors import (
    ConfigError,
    ContextLengthExceeded,
    GatewayError,
    ModelError,
    ModelNotInstalledError,
    ProviderUnavailable,
)
from ragwright.gateway.base import ChatModel, collect
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.anthropic import AnthropicChatModel
from ragwright.gateway.providers.http import aclose_shared_clients
from ragwright.gateway.providers.local import LocalChatModel, flatten
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.registry import make_chat_model
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.base import ChatGenerator
from ragwright.testing import FakeChatModel, FakeGenerator
from ragwright.testing.provider_servers import AnthropicServer, OpenAIServer, Plan

PRICES = PriceTable.load()
REQ = ChatRequest(model="x", messages=(Message("user", "hello registry"),), max_tokens=16)


def test_importing_the_registry_imports_no_http_library() -> None:
    code = (
        "import sys, ragwright.gateway.registry; "
        "bad = [m for m in ('httpx', 'ragwright.gateway.providers.openai', 'ragwright.testing') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_providers_resolve_keys_and_context_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    settings = GatewaySettings()
    openai = make_chat_model("openai:gpt-4o-mini", settings, prices=PRICES)
    assert isinstance(openai, OpenAIChatModel) and openai.name == "openai:gpt-4o-mini"
    assert openai.context_window == 128000 and openai.base_url == "https://api.openai.com/v1"
    assert openai._headers["authorization"] == "Bearer sk-from-env"
    claude = make_chat_model("anthropic:claude-haiku-4-5", settings, prices=PRICES)
    assert isinstance(claude, AnthropicChatModel) and claude._headers["x-api-key"] == "sk-ant-from-env"
    assert claude.context_window == 200000
    ollama = make_chat_model("ollama:llama3.2", settings, prices=PRICES)  # no key needed, no price known
    assert isinstance(ollama, OpenAIChatModel) and "authorization" not in ollama._headers
    assert ollama.context_window is None
    assert openai.payload(REQ, stream=False)["max_completion_tokens"] == 16  # OpenAI itself: the newer field
    assert ollama.payload(REQ, stream=False)["max_tokens"] == 16  # every compatible server: the classic one


def test_openai_reasoning_models_get_no_temperature(monkeypatch: pytest.MonkeyPatch) -> None:
    """o-series and gpt-5 reject temperature 0 (judges ask for it); other models and compatible servers keep it."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    settings = GatewaySettings()
    req = REQ.replace(temperature=0.0, seed=7)
    reasoning = make_chat_model("openai:o4-mini", settings, prices=PRICES).payload(req, stream=False)
    assert "temperature" not in reasoning and reasoning["seed"] == 7
    assert make_chat_model("openai:gpt-4o-mini", settings, prices=PRICES).payload(req, stream=False)["temperature"] == 0
    assert make_chat_model("ollama:o3-like", settings, prices=PRICES).payload(req, stream=False)["temperature"] == 0


def test_missing_key_unknown_provider_and_bad_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = GatewaySettings()
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_chat_model("openai:gpt-4o-mini", settings, prices=PRICES)
    with pytest.raises(ConfigError, match="unknown provider 'mistral'.*anthropic, fake, local, ollama, openai, vllm"):
        make_chat_model("mistral:large", settings, prices=PRICES)
    with pytest.raises(ConfigError, match="provider:model"):
        make_chat_model("gpt-4o-mini", settings, prices=PRICES)
    with pytest.raises(ConfigError, match=r"unknown local model .llama.: use one of smollm2"):
        make_chat_model("local:llama", settings, prices=PRICES)


def test_builtin_local_and_fake_are_lazy() -> None:
    local = make_chat_model("local:smollm2", GatewaySettings(), prices=PRICES)
    assert isinstance(local, LocalChatModel) and local.context_window == 2048 and "loaded=False" in repr(local)
    fake = make_chat_model("fake:echo", GatewaySettings(), prices=PRICES)
    assert isinstance(fake, FakeChatModel) and isinstance(fake, ChatModel)


async def test_fake_from_registry_answers_and_costs_zero() -> None:
    fake = make_chat_model("fake:echo", GatewaySettings(), prices=PRICES)
    reply = await fake.chat(REQ)
    assert "hello registry" in reply.text and reply.cost_usd == 0.0


async def test_configured_providers_reach_the_loopback_servers_on_the_shared_client(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("sk-file-key\n")
    with OpenAIServer(default=Plan(text="from groq")) as o, AnthropicServer(default=Plan(text="from claude")) as a:
        settings = GatewaySettings(
            providers={
                "groq": ProviderSettings(
                    kind="openai", base_url=o.base_url, api_key=f"file:{key}", headers={"x-team": "rag"}
                ),
                "claude": ProviderSettings(kind="anthropic", base_url=a.url, api_key=f"file:{key}"),
            }
        )
        groq = make_chat_model("groq:llama-3.1-8b", settings, prices=PRICES)
        claude = make_chat_model("claude:claude-haiku-4-5", settings, prices=PRICES)
        try:
            assert (await groq.chat(REQ)).text == "from groq"
            assert (await collect(claude.stream(REQ))).text == "from claude"
            assert groq.client() is claude.client()  # type: ignore[attr-defined]
        finally:
            await aclose_shared_clients()
        assert o.requests[0].headers["authorization"] == "Bearer sk-file-key"
        assert o.requests[0].headers["x-team"] == "rag" and o.requests[0].body["model"] == "llama-3.1-8b"
        assert a.requests[0].headers["x-api-key"] == "sk-file-key"


# -- local ----------------------------------------------------------------------------------------------------------


async def test_local_chat_and_stream_over_a_generator() -> None:
    gen = FakeGenerator(lambda prompt: "Paris is the capital.")
    calls = {"n": 0}

    def factory() -> FakeGenerator:
        calls["n"] += 1
        return gen

    local = LocalChatModel(factory=factory)
    assert calls["n"] == 0
    request = ChatRequest(
        model="local:smollm2",
        messages=(Message("system", "Be brief."), Message("user", "Capital of France?")),
        max_tokens=20,
        stop=(" capital",),
    )
    reply = await local.chat(request)
    assert reply.text == "Paris is the" and reply.model == "local:smollm2" and reply.cost_usd == 0.0
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert gen.prompts[0] == "Instructions: Be brief.\n\nUser: Capital of France?"
    assert gen.calls[0]["max_tokens"] == 20
    chunks = [c async for c in local.stream(request)]
    assert [c.delta for c in chunks] == ["Paris is the", ""] and chunks[-1].usage == reply.usage
    assert calls["n"] == 1


async def test_local_errors() -> None:
    local = LocalChatModel(generator=FakeGenerator(lambda p: "x"), context_window=64)
    long = ChatRequest(model="local:smollm2", messages=(Message("user", "word " * 200),), max_tokens=16)
    with pytest.raises(ContextLengthExceeded) as err:
        await local.chat(long)
    assert err.value.limit == 64 and not err.value.transient

    def broken() -> FakeGenerator:
        raise ModelError("the SmolLM2 model is not installed: pip install ...")

    with pytest.raises(GatewayError, match="not installed") as err2:
        await LocalChatModel(factory=broken).chat(REQ)
    assert not err2.value.transient

    def missing() -> FakeGenerator:
        raise ModelNotInstalledError("the SmolLM2 model is not installed: pip install ...")

    with pytest.raises(ProviderUnavailable):  # a fallback chain moves past it
        await LocalChatModel(factory=missing).chat(REQ)


class _TurnsGenerator(FakeGenerator):
    """A generator with a chat template: records the role-tagged turns it is given."""

    def __init__(self) -> None:
        super().__init__(lambda prompt: "unused")
        self.turns: list[list[tuple[str, str]]] = []

    def chat(
        self, turns: Sequence[tuple[str, str]], *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0
    ) -> str:
        self.turns.append(list(turns))
        self.calls.append({"max_tokens": max_tokens, "temperature": temperature, "seed": seed})
        return "Paris [1]."


async def test_local_sends_role_tagged_turns_to_a_generator_with_a_chat_template() -> None:
    gen = _TurnsGenerator()
    assert isinstance(gen, ChatGenerator) and not isinstance(FakeGenerator(), ChatGenerator)
    request = ChatRequest(
        model="local:x",
        messages=(
            Message("system", "Answer from the passages."),
            Message("user", "Capital of France?"),
            Message("tool", "passage text"),
        ),
        max_tokens=12,
        seed=3,
    )
    reply = await LocalChatModel(generator=gen).chat(request)
    assert reply.text == "Paris [1]." and gen.prompts == []  # the flattened prompt is not used
    assert gen.turns == [
        [("system", "Answer from the passages."), ("user", "Capital of France?"), ("user", "Tool result: passage text")]
    ]
    assert gen.calls == [{"max_tokens": 12, "temperature": 0.0, "seed": 3}]


def test_flatten_single_user_message_is_the_prompt() -> None:
    assert flatten((Message("user", "just this"),)) == "just this"
    assert (
        flatten((Message("user", "q"), Message("assistant", "a"), Message("user", "q2")))
        == "User: q\n\nAssistant: a\n\nUser: q2"
    )


@pytest.mark.slow
async def test_real_smollm2_through_the_registry() -> None:
    pytest.importorskip("xllamacpp")
    local = make_chat_model("local:smollm2", GatewaySettings(), prices=PRICES)
    request = ChatRequest(
        model="local:smollm2",
        max_tokens=24,
        seed=7,
        temperature=0.0,
        messages=(Message("user", "What is the capital of France? Answer in one short sentence."),),
    )
    try:
        chunks = [c async for c in local.stream(request)]
    except ProviderUnavailable as exc:
        pytest.skip(str(exc))
    assert "Paris" in chunks[0].delta and chunks[-1].finish_reason == "stop"
    assert chunks[-1].cost_usd == 0.0 and chunks[-1].usage is not None and chunks[-1].usage.output_tokens > 0


@pytest.mark.slow
async def test_a_llama_cpp_server_through_the_openai_provider_returns_logprobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/gateway-providers.md: a llama.cpp server (here llama.cpp's own server code, in-process) is an
    OpenAI-compatible provider, and it returns the log-probabilities the sentence judge reads."""
    pytest.importorskip("xllamacpp")
    from ragwright.models.generator import default_generator
    from ragwright.testing.llama_server import LlamaServer

    try:
        gguf = default_generator().model_path
    except ModelNotInstalledError as exc:
        pytest.skip(str(exc))
    server = LlamaServer(gguf, threads=1)
    monkeypatch.setenv("LLAMA_TEST_KEY", server.api_key)
    settings = GatewaySettings(providers={"llamacpp": server.provider_settings("LLAMA_TEST_KEY")})
    model = make_chat_model("llamacpp:any", settings, prices=PRICES)
    request = ChatRequest(
        model="llamacpp:any",
        messages=(Message("system", "Answer yes or no."), Message("user", "Is Paris in France?")),
        max_tokens=2,
        temperature=0.0,
        top_logprobs=5,
    )
    try:
        reply = await model.chat(request)
    finally:
        await aclose_shared_clients()
    assert reply.text and reply.usage.input_tokens > 0
    assert len(reply.logprobs) >= 1 and len(reply.logprobs[0].top) == 5
    assert reply.logprobs[0].token == reply.logprobs[0].top[0][0]  # greedy: the chosen token is the likeliest
    wrong = GatewaySettings(providers={"llamacpp": ProviderSettings(kind="openai", base_url=server.base_url)})
    with pytest.raises(GatewayError):  # no key: the server refuses
        await make_chat_model("llamacpp:any", wrong, prices=PRICES).chat(request)
    await aclose_shared_clients()
