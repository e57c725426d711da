"""Seams for local models: one small Protocol each."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way the embedding model will see them (the chunker's budget is in these units)."""

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class Embedder(TokenCounter, Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dim`` dimensions.

    ``name`` identifies model + settings; the store keeps it so vectors of different models are never mixed.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...

    def embed_query(self, text: str) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class TokenVectors:
    """The encoder's per-token output for one text (special tokens left out): where each token is in the text and its
    L2-normalised contextual vector."""

    offsets: npt.NDArray[np.int64]
    """(n, 2) character start and end of each token in the text."""
    vectors: npt.NDArray[np.float32]
    """(n, dim) unit vectors, the encoder's last hidden state before pooling."""


@runtime_checkable
class TokenEmbedder(Protocol):
    """An embedder that also exposes its per-token vectors (late interaction: ``ragwright.answering.alignment``)."""

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]: ...


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant. Scores are comparable within one call only."""

    name: str

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]: ...


@runtime_checkable
class TextGenerator(Protocol):
    """A local text generator (SmolLM2 via xllamacpp). Remote models come through the gateway's ChatModel."""

    name: str

    def generate(self, prompt: str, *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0) -> str: ...


@runtime_checkable
class ChatGenerator(TextGenerator, Protocol):
    """A local generator that also takes role-tagged turns, so the model's chat template puts each where it belongs
    (a system message as the system turn, not as text inside the user turn)."""

    def chat(
        self, turns: Sequence[tuple[str, str]], *, max_tokens: int = 256, temperature: float = 0.0, seed: int = 0
    ) -> str: ...


@runtime_checkable
class InterruptibleGenerator(ChatGenerator, Protocol):
    """A chat generator that can be stopped mid-generation: ``chat_until`` checks ``cancel`` at every token and raises
    :class:`~ragwright.errors.GenerationCancelled` once it is set (and at once if it is set before the model is
    free), so a caller that gave up does not leave the model generating for nobody."""

    def chat_until(
        self,
        turns: Sequence[tuple[str, str]],
        cancel: threading.Event,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> str: ...
