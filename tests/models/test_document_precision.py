"""Documents embedded by the int8 encoder (``document_precision="int8"``): unit vectors close to the float32 ones, a
different embedder name, and an index built with float32 documents that refuses the int8-document embedder (and the
reverse) instead of mixing vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragwright.app import Ragwright
from ragwright.config import load_settings
from ragwright.errors import ModelError, NotIndexedError, StoreError
from ragwright.models import quantize
from ragwright.models.embedder import INT8_DOCS_SUFFIX, OnnxEmbedder
from ragwright.store.sqlite import SQLiteStore

PASSAGES = [
    "To descale the kettle, fill it with water and citric acid, boil, and rinse twice.",
    "The mitochondrion produces most of the cell's supply of adenosine triphosphate.",
    "Nanoscale biomaterials with zero-dimensional geometry can induce osteogenic differentiation.",
    "Damaged goods are refunded in full within 30 days when returned with the receipt.",
    "ok",
]


@pytest.fixture(scope="module")
def embedders(
    minilm_model: Path, minilm_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OnnxEmbedder, OnnxEmbedder]]:
    with pytest.MonkeyPatch.context() as mp:  # derive into a private cache, not the user's home
        mp.setenv("RAGWRIGHT_CACHE_DIR", str(tmp_path_factory.mktemp("int8-docs-cache")))
        fp32 = OnnxEmbedder(minilm_model, minilm_tokenizer, threads=1, name="minilm@256")
        int8 = OnnxEmbedder(minilm_model, minilm_tokenizer, threads=1, name="minilm@256", document_precision="int8")
        int8.prepare()  # derived while the private cache directory is in force
        yield fp32, int8


def test_int8_documents_are_unit_vectors_close_to_float32(embedders: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    fp32, int8 = embedders
    a, b = fp32.embed(PASSAGES), int8.embed(PASSAGES)
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.97, cosines  # 0.98-0.99 here
    assert not np.array_equal(a, b)  # really the integer network
    # each passage is still nearest to its own float32 vector
    assert list(np.argmax(b @ a.T, axis=1)) == list(range(len(PASSAGES)))


def test_int8_documents_change_the_name_and_force_int8_queries(embedders: tuple[OnnxEmbedder, OnnxEmbedder]) -> None:
    fp32, int8 = embedders
    assert fp32.name == "minilm@256" and int8.name == "minilm@256" + INT8_DOCS_SUFFIX
    assert fp32.document_precision == "fp32" and int8.document_precision == "int8"
    assert int8.query_precision == "int8"  # documents and queries from the same encoder
    q = int8.embed_query(PASSAGES[1])
    np.testing.assert_allclose(q, int8.embed([PASSAGES[1]])[0], atol=1e-6)


def test_bad_document_precision_is_a_model_error(minilm_model: Path, minilm_tokenizer: Path) -> None:
    with pytest.raises(ModelError, match="document_precision"):
        OnnxEmbedder(minilm_model, minilm_tokenizer, document_precision="fp16")  # type: ignore[arg-type]


def test_an_index_of_float32_documents_refuses_the_int8_document_embedder(
    embedders: tuple[OnnxEmbedder, OnnxEmbedder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp32, int8 = embedders
    monkeypatch.chdir(tmp_path)  # no ragwright.toml from the working directory
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text(PASSAGES[0], encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "index")
    built = Ragwright(settings, embedder=fp32)
    assert built.ingest([docs]).chunks_embedded == 1
    built.close()
    store = SQLiteStore(settings.index_path)
    try:
        assert store.embedding_model == "minilm@256"
        # ingesting more documents with the other precision: the store's binding refuses
        with pytest.raises(StoreError, match=r"built with embedder minilm@256 .*not minilm@256\+int8docs"):
            store.bind_embedder(int8.name, int8.dim)
        # searching with it: the app refuses before any vector is compared
        with pytest.raises(NotIndexedError, match=r"built with minilm@256, but .* is minilm@256\+int8docs"):
            _ = Ragwright(settings, embedder=int8, store=store).retriever
        same = Ragwright(settings, embedder=fp32, store=store)  # the embedder it was built with still searches
        assert [h.chunk.doc_path for h in same.search("descale the kettle", k=1).hits] == ["docs/kettle.md"]
    finally:
        store.close()


def test_an_index_of_int8_documents_refuses_the_float32_embedder(
    embedders: tuple[OnnxEmbedder, OnnxEmbedder], tmp_path: Path
) -> None:
    fp32, int8 = embedders
    store = SQLiteStore(tmp_path / "index.sqlite")
    try:
        store.bind_embedder(int8.name, int8.dim)
        store.bind_embedder(int8.name, int8.dim)  # the same embedder again: fine
        with pytest.raises(StoreError, match=r"built with embedder minilm@256\+int8docs .*not minilm@256 "):
            store.bind_embedder(fp32.name, fp32.dim)
    finally:
        store.close()


def test_int8_documents_are_wired_from_settings(
    minilm_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(quantize, "cache_root", lambda: tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    assert load_settings(data_dir=tmp_path / "index").embedding.document_precision == "fp32"  # the default
    monkeypatch.setenv("RAGWRIGHT_EMBEDDING__DOCUMENT_PRECISION", "int8")
    app = Ragwright(load_settings(data_dir=tmp_path / "index"))
    assert isinstance(app.embedder, OnnxEmbedder)
    assert app.embedder.name == "all-MiniLM-L6-v2-int8@256" + INT8_DOCS_SUFFIX
    assert app.embedder.document_precision == app.embedder.query_precision == "int8"
    app.close()
