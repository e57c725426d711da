"""Deterministic stand-ins for the local models, for tests and for the ``fake`` registry specs.

They satisfy the same Protocols as the real models (``Embedder``, ``Reranker``, ``TextGenerator``), need no model
files, and give the same output for the same input in every process (hashing uses blake2b, not Python's salted
``hash``).

Example::

    emb = FakeEmbedder(dim=64)
    a, b = emb.embed(["solar panels on roofs", "roofs with solar panels"])
    float(a @ b)   # 1.0: same words, same vector
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ragwright.models.base import TokenVectors

__all__ = ["FakeEmbedder", "FakeGenerator", "FakeReranker", "word_tokens"]

_WORD = re.compile(r"\w+")


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens (runs of letters, digits and underscores)."""
    return _WORD.findall(text.lower())


class FakeEmbedder:
    """Hashed bag-of-words vectors: each word adds +1 or -1 to one dimension, then the vector is L2-normalised.

    Texts sharing words get similar vectors (cosine grows with overlap); a text with no words maps to a fixed unit
    vector so the output is always unit norm. ``count_tokens`` is whitespace tokens + 2, mimicking [CLS] and [SEP].
    """

    def __init__(self, dim: int = 64) -> None:
        if dim < 2:
            raise ValueError("dim must be at least 2")
        self.dim = dim
        self.name = f"fake-bow@{dim}"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in word_tokens(text):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        vec: npt.NDArray[np.float32] = self.embed([text])[0]
        return vec

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """One token per word, its vector a random unit vector seeded by the lower-cased word: the same word aligns
        at cosine 1, two different words near 0 (|cosine| above 0.6 is a one-in-a-million event at dim 64)."""
        out: list[TokenVectors] = []
        for text in texts:
            spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
            vectors = np.zeros((len(spans), self.dim), dtype=np.float32)
            for row, (a, b) in enumerate(spans):
                seed = int.from_bytes(hashlib.blake2b(text[a:b].lower().encode(), digest_size=8).digest(), "little")
                vec = np.random.default_rng(seed).standard_normal(self.dim)
                vectors[row] = vec / np.linalg.norm(vec)
            out.append(TokenVectors(offsets=np.array(spans, dtype=np.int64).reshape(-1, 2), vectors=vectors))
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]


class FakeReranker:
    """Scores each passage by how many distinct query words it contains (higher is more relevant)."""

    name = "fake-overlap"

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        wanted = set(word_tokens(query))
        return np.array([len(wanted & set(word_tokens(p))) for p in passages], dtype=np.float32)


class FakeGenerator:
    """Returns scripted replies and records every prompt it was given.

    ``script`` is either a list of replies handed out in order (running out raises ``AssertionError``, which in a
    test means "the code called the model more often than expected") or a function from prompt to reply.

    Example::

        gen = FakeGenerator(["Paris [1]."])
        gen.generate("Where is the Louvre?")   # "Paris [1]."
        gen.prompts                            # ["Where is the Louvre?"]
    """

    name = "fake-generator"

    def __init__(self, script: Sequence[str] | Callable[[str], str] = ()) -> None:
        self._script: Callable[[str], str] | list[str] = script if callable(script) else list(script)
        self.prompts: list[str] = []
        self.calls: list[dict[str, float | int]] = []

    def generate(self, prompt: str, *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0) -> str:
        self.prompts.append(prompt)
        self.calls.append({"max_tokens": max_tokens, "temperature": temperature, "seed": seed})
        if callable(self._script):
            return self._script(prompt)
        if len(self.prompts) > len(self._script):
            raise AssertionError(f"FakeGenerator script exhausted after {len(self._script)} replies")
        return self._script[len(self.prompts) - 1]
