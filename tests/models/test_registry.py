from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ragwright.errors import ConfigError, ModelError
from ragwright.models.registry import make_embedder, make_generator, make_reranker
from ragwright.testing import FakeEmbedder, FakeGenerator, FakeReranker


def test_unknown_specs_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown embedder 'bert'; known: 'minilm', 'fake'"):
        make_embedder("bert")
    with pytest.raises(ConfigError, match=r"known: 'onnx:<path>', 'fake'"):
        make_reranker("cohere")
    with pytest.raises(ConfigError, match=r"known: 'local', 'fake'"):
        make_generator("gpt")


def test_argument_rules() -> None:
    with pytest.raises(ConfigError, match="needs an argument"):
        make_reranker("onnx")
    with pytest.raises(ConfigError, match="takes no argument"):
        make_embedder("fake:extra")


def test_fake_specs_build_fakes_with_keywords() -> None:
    emb = make_embedder("fake", dim=16)
    assert isinstance(emb, FakeEmbedder) and emb.dim == 16
    assert isinstance(make_reranker("fake"), FakeReranker)
    gen = make_generator("fake", script=["hi"])
    assert isinstance(gen, FakeGenerator) and gen.generate("x") == "hi"


def test_onnx_spec_passes_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path)):
        make_reranker(f"onnx:{tmp_path}")


def test_minilm_spec_builds_the_real_embedder() -> None:
    emb = make_embedder("minilm", max_length=128, threads=1)
    assert emb.name == "all-MiniLM-L6-v2-int8@128" and emb.dim == 384


def test_importing_the_registry_imports_no_model_runtime() -> None:
    code = (
        "import sys, ragwright.models.registry, ragwright.testing; "
        "heavy = {'onnxruntime', 'tokenizers', 'xllamacpp'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_embedder_from_settings_carries_the_embedding_section() -> None:
    from ragwright.config import EmbeddingSettings
    from ragwright.models.embedder import OnnxEmbedder
    from ragwright.models.registry import embedder_from_settings

    emb = embedder_from_settings(
        EmbeddingSettings(model="minilm", max_length=128, threads=1, query_precision="fp32", document_precision="int8")
    )
    assert isinstance(emb, OnnxEmbedder)
    assert emb.max_length == 128 and emb.name.endswith("+int8docs")
    assert embedder_from_settings(EmbeddingSettings(model="fake")).name.startswith("fake")
