"""Cross-encoder re-ranking with onnxruntime + tokenizers.

Point it at a directory holding ``model.onnx`` and ``tokenizer.json`` (for example an ONNX export of
``cross-encoder/ms-marco-MiniLM-L-6-v2``). The graph must take ``input_ids`` and ``attention_mask`` (and optionally
``token_type_ids``) and return logits of shape ``(batch,)``, ``(batch, 1)`` or ``(batch, 2)``.

Example::

    rr = OnnxCrossEncoder(Path("/models/ms-marco-MiniLM-L6"))
    scores = rr.score("what causes rain?", ["Clouds release water ...", "The stock market ..."])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ragwright.errors import ModelError
from ragwright.models.embedder import load_tokenizer, make_session, pad_batch

if TYPE_CHECKING:
    from tokenizers import Encoding

__all__ = ["OnnxCrossEncoder"]

_KNOWN_INPUTS = {"input_ids", "attention_mask", "token_type_ids"}


class OnnxCrossEncoder:
    """Scores (query, passage) pairs with a cross-encoder; higher is more relevant.

    The score is the raw relevance logit: the single logit of a one-output head, or the positive-class (second)
    logit of a two-class head. Pairs are truncated to ``max_length`` tokens, longest side first, and scored in
    length-sorted batches of ``batch_size``.
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        max_length: int = 512,
        batch_size: int = 16,
        threads: int | None = None,
        name: str | None = None,
    ) -> None:
        model_dir = Path(model_dir)
        model_path, tokenizer_path = model_dir / "model.onnx", model_dir / "tokenizer.json"
        missing = [p.name for p in (model_path, tokenizer_path) if not p.is_file()]
        if missing:
            raise ModelError(f"re-ranker directory {model_dir} lacks {' and '.join(missing)}")
        if max_length < 4 or batch_size < 1:
            raise ModelError(f"need max_length >= 4 and batch_size >= 1, got {max_length} and {batch_size}")
        self.name = name or f"onnx:{model_dir.name}@{max_length}"
        self.max_length = max_length
        self.batch_size = batch_size
        self._session = make_session(model_path, threads)
        self._input_names = [i.name for i in self._session.get_inputs()]
        if not {"input_ids", "attention_mask"} <= set(self._input_names) or not set(self._input_names) <= _KNOWN_INPUTS:
            raise ModelError(
                f"{model_path}: inputs {self._input_names} do not fit a cross-encoder "
                "(need input_ids, attention_mask and optionally token_type_ids)"
            )
        outputs = self._session.get_outputs()
        if len(outputs) != 1:
            raise ModelError(f"{model_path}: expected one logits output, found {[o.name for o in outputs]}")
        self._output = outputs[0].name
        width = outputs[0].shape[-1] if len(outputs[0].shape) == 2 else 1
        if isinstance(width, int) and width not in (1, 2):
            raise ModelError(f"{model_path}: logits of width {width}; expected 1 (relevance) or 2 (binary classes)")
        self._tok = load_tokenizer(tokenizer_path)
        self._tok.enable_truncation(max_length, strategy="longest_first")

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        """One float32 relevance logit per passage, in the order given."""
        out = np.empty(len(passages), dtype=np.float32)
        if not passages:
            return out
        encodings = self._tok.encode_batch_fast([(query, p) for p in passages])
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([encodings[i] for i in idx])
        return out

    def _run(self, encodings: Sequence[Encoding]) -> npt.NDArray[np.float32]:
        feeds = pad_batch(encodings, self._input_names)
        try:
            (logits,) = self._session.run([self._output], feeds)
        except Exception as exc:
            raise ModelError(f"re-ranker failed: {exc}") from exc
        logits = np.asarray(logits, dtype=np.float32)
        if logits.ndim == 1:
            return logits
        if logits.ndim == 2 and logits.shape[1] in (1, 2):
            return logits[:, -1]  # the only logit, or the positive class of two
        raise ModelError(f"re-ranker logits have shape {logits.shape}; expected (batch,), (batch, 1) or (batch, 2)")

    def __repr__(self) -> str:
        return f"OnnxCrossEncoder(name={self.name!r}, max_length={self.max_length})"
