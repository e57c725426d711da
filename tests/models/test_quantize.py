"""The int8 query encoder: derived once from the packaged MiniLM, cached on disk, close to the float32 encoder, and
ranking passages the way the float32 encoder does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragwright.errors import ModelError
from ragwright.models import quantize
from ragwright.models.embedder import OnnxEmbedder

QUERIES = [
    "how do I descale the kettle?",
    "Mitochondria are the powerhouse of the cell.",
    "0-dimensional biomaterials show inductive properties.",
    "what is the refund policy for damaged goods",
    "ok",
]
PASSAGES = [
    "To descale the kettle, fill it with water and citric acid, boil, and rinse twice.",
    "The mitochondrion produces most of the cell's supply of adenosine triphosphate.",
    "Nanoscale biomaterials with zero-dimensional geometry can induce osteogenic differentiation.",
    "Damaged goods are refunded in full within 30 days when returned with the receipt.",
    "The committee postponed the vote until the budget review was complete.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8-cache")


@pytest.fixture(scope="module")
def derived(minilm_model: Path, cache: Path) -> Path:
    return quantize.int8_model(minilm_model, cache)


def test_derivation_is_cached_by_content_and_recipe(minilm_model: Path, cache: Path, derived: Path) -> None:
    assert derived.parent == cache and derived.is_file()
    stamp = derived.stat().st_mtime_ns
    assert quantize.int8_model(minilm_model, cache) == derived  # second call: a lookup, not a rebuild
    assert derived.stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [derived.name]  # no temporary files left behind


def test_recipe_change_builds_a_new_file(
    minilm_model: Path, cache: Path, derived: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantize, "RECIPE", "test-recipe")
    other = quantize.int8_model(minilm_model, cache)
    assert other != derived and other.is_file()
    other.unlink()


def test_int8_queries_stay_close_to_float32_and_rank_the_same(
    minilm_model: Path, minilm_tokenizer: Path, cache: Path, derived: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGWRIGHT_CACHE_DIR", str(cache.parent / "env-cache"))
    monkeypatch.setattr(quantize, "int8_model", lambda source, cache_dir=None: derived)
    fp32 = OnnxEmbedder(minilm_model, minilm_tokenizer, threads=1)
    int8 = OnnxEmbedder(minilm_model, minilm_tokenizer, threads=1, query_precision="int8")
    docs = fp32.embed(PASSAGES)
    for i, query in enumerate(QUERIES):
        a, b = fp32.embed_query(query), int8.embed_query(query)
        assert b.dtype == np.float32 and abs(float(np.linalg.norm(b)) - 1.0) < 1e-5
        assert float(a @ b) > 0.97, query  # 0.99+ on SciFact queries; 0.977 for "ok"
        assert not np.array_equal(a, b)  # really a different (integer) network, not the float32 one again
        if i < 4:  # the first four queries each have one matching passage, and both encoders must find it
            assert int(np.argmax(docs @ b)) == int(np.argmax(docs @ a)) == i


def test_fp32_is_the_plain_encoder(minilm_model: Path, minilm_tokenizer: Path) -> None:
    emb = OnnxEmbedder(minilm_model, minilm_tokenizer, threads=1)
    np.testing.assert_array_equal(emb.embed_query(QUERIES[0]), emb.embed([QUERIES[0]])[0])
    assert emb.prepare() is emb._session


def test_bad_precision_is_a_model_error(minilm_model: Path, minilm_tokenizer: Path) -> None:
    with pytest.raises(ModelError, match="query_precision"):
        OnnxEmbedder(minilm_model, minilm_tokenizer, query_precision="fp16")  # type: ignore[arg-type]


def test_unreadable_model_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not an onnx graph")
    with pytest.raises(ModelError, match="int8"):
        quantize.int8_model(broken, tmp_path / "cache")


def test_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGWRIGHT_CACHE_DIR", str(tmp_path / "explicit"))
    assert quantize.cache_root() == tmp_path / "explicit"
    monkeypatch.delenv("RAGWRIGHT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert quantize.cache_root() == tmp_path / "xdg" / "ragwright"


def test_unwritable_cache_builds_into_a_private_directory(
    minilm_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantize.os, "access", lambda path, mode: False)  # as for a read-only home directory
    out = quantize.int8_model(minilm_model, tmp_path / "models")
    assert out.is_file() and (tmp_path / "models") not in out.parents
    out.unlink()
