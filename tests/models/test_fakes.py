from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragwright.models.base import Embedder, Reranker, TextGenerator
from ragwright.testing import FakeEmbedder, FakeGenerator, FakeReranker

texts = st.lists(st.text(max_size=80), max_size=8)


def test_fakes_satisfy_the_protocols() -> None:
    assert isinstance(FakeEmbedder(), Embedder)
    assert isinstance(FakeReranker(), Reranker)
    assert isinstance(FakeGenerator([]), TextGenerator)


@given(texts)
def test_fake_embedder_is_deterministic_unit_float32(batch: list[str]) -> None:
    a, b = FakeEmbedder(dim=32).embed(batch), FakeEmbedder(dim=32).embed(batch)
    assert a.shape == (len(batch), 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    if batch:
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


@given(texts)
def test_batch_equals_one_by_one(batch: list[str]) -> None:
    emb = FakeEmbedder()
    single = [emb.embed_query(t) for t in batch]
    np.testing.assert_array_equal(emb.embed(batch), np.array(single, dtype=np.float32).reshape(len(batch), 64))


def test_shared_words_are_more_similar_than_disjoint_ones() -> None:
    emb = FakeEmbedder()
    q, near, far = emb.embed(["solar panels on the roof", "Roof with SOLAR panels", "quarterly tax filing deadline"])
    assert float(q @ near) > float(q @ far)
    assert float(q @ near) > 0.5
    np.testing.assert_allclose(emb.embed_query("a b c") @ emb.embed_query("c b a"), 1.0, atol=1e-6)


def test_fake_count_tokens() -> None:
    emb = FakeEmbedder()
    assert emb.count_tokens("") == 2
    assert emb.count_tokens("three little words") == 5
    assert emb.count_tokens_batch(["a b", "c"]) == [4, 3]


def test_fake_reranker_counts_overlap() -> None:
    scores = FakeReranker().score("solar roof panels", ["roof panels", "nothing here", "Solar solar roof PANELS"])
    assert scores.dtype == np.float32
    assert scores.tolist() == [2.0, 0.0, 3.0]


def test_fake_generator_scripted_in_order_and_records_prompts() -> None:
    gen = FakeGenerator(["one", "two"])
    assert gen.generate("p1") == "one"
    assert gen.generate("p2", max_tokens=8) == "two"
    assert gen.prompts == ["p1", "p2"]
    assert gen.calls[1]["max_tokens"] == 8
    with pytest.raises(AssertionError, match="exhausted"):
        gen.generate("p3")


def test_fake_generator_from_a_function() -> None:
    gen = FakeGenerator(lambda prompt: prompt.upper())
    assert gen.generate("echo") == "ECHO"
    assert gen.prompts == ["echo"]
