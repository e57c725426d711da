"""The cross-encoder wrapper against tiny real ONNX graphs built here (no re-ranker weights ship with ragwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ragwright.errors import ModelError
from ragwright.models.base import Reranker
from ragwright.models.reranker import OnnxCrossEncoder

onnx = pytest.importorskip("onnx")
helper = onnx.helper
TensorProto = onnx.TensorProto

INT_2D = ["batch", "sequence"]


def build_graph(
    path: Path, *, logits: int = 1, inputs: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
) -> None:
    """A cross-encoder-shaped graph whose logit is the masked mean of input_ids (so longer-id words score higher).

    With ``logits=2`` it returns ``[-mean, mean]`` (the positive class second); with ``logits=3`` a shape no
    re-ranker head has.
    """
    nodes = [
        helper.make_node("Mul", ["input_ids", "attention_mask"], ["kept"]),
        helper.make_node("Cast", ["kept"], ["kept_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["kept_f", "axis"], ["total"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axis"], ["count"], keepdims=1),
        helper.make_node("Div", ["total", "count"], ["mean"]),
    ]
    if "token_type_ids" in inputs:  # consume it, as a real BERT graph does
        nodes += [
            helper.make_node("Cast", ["token_type_ids"], ["types_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["types_f", "axis"], ["types_sum"], keepdims=1),
            helper.make_node("Mul", ["types_sum", "zero"], ["nothing"]),
            helper.make_node("Add", ["mean", "nothing"], ["score"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["mean"], ["score"]))
    if logits == 1:
        nodes.append(helper.make_node("Identity", ["score"], ["logits"]))
    else:
        nodes.append(helper.make_node("Neg", ["score"], ["negative"]))
        nodes.append(helper.make_node("Concat", ["negative"] + ["score"] * (logits - 1), ["logits"], axis=1))
    graph = helper.make_graph(
        nodes,
        "tiny_cross_encoder",
        [helper.make_tensor_value_info(name, TensorProto.INT64, INT_2D) for name in inputs],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", logits])],
        initializer=[
            helper.make_tensor("axis", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture()
def model_dir(tmp_path: Path, minilm_tokenizer: Path) -> Path:
    shutil.copy(minilm_tokenizer, tmp_path / "tokenizer.json")
    build_graph(tmp_path / "model.onnx")
    return tmp_path


def expected_scores(tokenizer: Path, query: str, passages: list[str], max_length: int) -> np.ndarray:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return np.array([np.mean(tok.encode(query, p).ids) for p in passages], dtype=np.float32)


PASSAGES = [
    "zebra zygote zucchini",
    "a a a",
    "the xylophone",
    "apple " * 300,  # longer than max_length: must be truncated, not fail
]


def test_scores_are_the_graph_logits_in_input_order(model_dir: Path) -> None:
    rr = OnnxCrossEncoder(model_dir, max_length=64, batch_size=2)
    assert isinstance(rr, Reranker)
    scores = rr.score("which word?", PASSAGES)
    assert scores.dtype == np.float32 and scores.shape == (len(PASSAGES),)
    expected = expected_scores(model_dir / "tokenizer.json", "which word?", PASSAGES, 64)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert int(np.argmax(scores)) == 0  # the 'z' words have the largest vocabulary ids


def test_batching_does_not_change_scores(model_dir: Path) -> None:
    together = OnnxCrossEncoder(model_dir, max_length=64, batch_size=16).score("q", PASSAGES)
    alone = np.array([OnnxCrossEncoder(model_dir, max_length=64).score("q", [p])[0] for p in PASSAGES])
    np.testing.assert_allclose(together, alone, rtol=1e-5)


def test_two_logit_head_uses_the_positive_class(tmp_path: Path, minilm_tokenizer: Path) -> None:
    shutil.copy(minilm_tokenizer, tmp_path / "tokenizer.json")
    build_graph(tmp_path / "model.onnx", logits=2, inputs=("input_ids", "attention_mask"))
    scores = OnnxCrossEncoder(tmp_path, max_length=64).score("q", PASSAGES)
    assert np.all(scores > 0)  # the negative logit is -mean, the positive +mean
    np.testing.assert_allclose(scores, expected_scores(minilm_tokenizer, "q", PASSAGES, 64), rtol=1e-5)


def test_empty_passages(model_dir: Path) -> None:
    assert OnnxCrossEncoder(model_dir).score("q", []).shape == (0,)


def test_directory_without_files_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"lacks model\.onnx and tokenizer\.json"):
        OnnxCrossEncoder(tmp_path)


def test_graph_with_wrong_inputs_is_rejected(tmp_path: Path, minilm_tokenizer: Path) -> None:
    shutil.copy(minilm_tokenizer, tmp_path / "tokenizer.json")
    build_graph(tmp_path / "model.onnx", inputs=("input_ids", "attention_mask", "pixel_values"))
    with pytest.raises(ModelError, match="do not fit a cross-encoder"):
        OnnxCrossEncoder(tmp_path)


def test_graph_with_three_logits_is_rejected(tmp_path: Path, minilm_tokenizer: Path) -> None:
    shutil.copy(minilm_tokenizer, tmp_path / "tokenizer.json")
    build_graph(tmp_path / "model.onnx", logits=3)
    with pytest.raises(ModelError, match="width 3"):
        OnnxCrossEncoder(tmp_path)


def test_file_that_is_not_onnx_is_a_model_error(tmp_path: Path, minilm_tokenizer: Path) -> None:
    shutil.copy(minilm_tokenizer, tmp_path / "tokenizer.json")
    (tmp_path / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        OnnxCrossEncoder(tmp_path)
