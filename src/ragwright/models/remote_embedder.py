"""An `Embedder` over any OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, TEI, vLLM, Ollama, LiteLLM.

Spec (``[embedding] model``): ``openai-embed:<base URL>#<model>``, the base URL being what the server puts before
``/embeddings``::

    openai-embed:https://api.openai.com/v1#text-embedding-3-small      api_key = "env:OPENAI_API_KEY"
    openai-embed:http://tei.internal:8080/v1#BAAI/bge-small-en-v1.5     (TEI's OpenAI-compatible route)
    openai-embed:http://127.0.0.1:11434/v1#nomic-embed-text              (Ollama)

Texts go in batches of ``batch_size``, at most ``concurrency`` requests at once, each retried by the gateway's retry
policy (:mod:`ragwright.models.remote`). Vectors come back L2-normalised in input order. The name recorded in the
index is ``openai-embed:<model>`` and the dimension is learnt from the first reply (or one probe request), so an index
built with another model or size refuses this one (:meth:`~ragwright.store.base.Store.bind_embedder`), and a reply of
another width mid-ingest is a :class:`~ragwright.errors.RemoteModelError`, never a silently mixed index.

Example::

    emb = RemoteEmbedder("http://127.0.0.1:8080/v1#bge-small", api_key="env:TEI_KEY", batch_size=64, concurrency=4)
    vectors = emb.embed(["first passage", "second passage"])     # (2, emb.dim) float32, unit norm
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragwright.config import RetrySettings, TimeoutSettings
from ragwright.errors import ConfigError, RemoteModelError
from ragwright.gateway.policies._shared import estimate_tokens
from ragwright.models.remote import RemoteCaller, parse_endpoint

__all__ = ["RemoteEmbedder"]

PROVIDER = "openai-embed"


class RemoteEmbedder:
    """Embeddings from a remote OpenAI-compatible endpoint (see the module for the spec and the guarantees)."""

    def __init__(
        self,
        spec: str,
        *,
        api_key: str | None = None,
        batch_size: int = 64,
        concurrency: int = 4,
        dim: int | None = None,
        retry: RetrySettings | None = None,
        timeout: TimeoutSettings | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"{PROVIDER}: batch size must be at least 1, got {batch_size}")
        self.endpoint = parse_endpoint(spec, PROVIDER)
        self.name = f"{PROVIDER}:{self.endpoint.model}"
        self.batch_size = batch_size
        self._caller = RemoteCaller(
            self.endpoint, provider=PROVIDER, api_key=api_key, concurrency=concurrency, retry=retry, timeout=timeout
        )
        self._dim = dim
        self._lock = threading.Lock()

    @property
    def concurrency(self) -> int:
        return self._caller.concurrency

    @property
    def dim(self) -> int:
        """The vectors' width: configured, learnt from the first reply, or asked for with one probe request."""
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def count_tokens(self, text: str) -> int:
        """A deliberately high estimate (the remote tokenizer is not here), so chunks stay within its limit."""
        return estimate_tokens(text)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), dim)`` float32 unit vectors, in the input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for one string")
        texts = list(texts)
        if not texts:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        payloads = [{"model": self.endpoint.model, "input": b, "encoding_format": "float"} for b in batches]
        replies = self._caller.post_all("/embeddings", payloads)
        return np.concatenate([self._vectors(r, len(b)) for r, b in zip(replies, batches, strict=True)])

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        vec: npt.NDArray[np.float32] = self.embed([text])[0]
        return vec

    def _vectors(self, reply: Any, n: int) -> npt.NDArray[np.float32]:
        """The ``n`` vectors of one reply, ordered by their ``index``, checked and normalised."""
        where = self.endpoint.display
        data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, list) or len(data) != n:
            got = len(data) if isinstance(data, list) else "no"
            raise RemoteModelError(f"{PROVIDER} at {where}: asked for {n} embeddings, got {got}", endpoint=where)
        try:
            rows = sorted(data, key=lambda item: int(item.get("index", 0)))
            matrix = np.asarray([item["embedding"] for item in rows], dtype=np.float32)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise RemoteModelError(f"{PROVIDER} at {where}: malformed embeddings ({exc})", endpoint=where) from None
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise RemoteModelError(f"{PROVIDER} at {where}: embeddings of shape {matrix.shape}", endpoint=where)
        with self._lock:
            if self._dim is None:
                self._dim = int(matrix.shape[1])
        if matrix.shape[1] != self._dim:
            raise RemoteModelError(
                f"{PROVIDER} at {where}: {self.endpoint.model} returned {matrix.shape[1]}-dimensional vectors, "
                f"expected {self._dim}; refusing to mix them into one index",
                endpoint=where,
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(np.isfinite(matrix)) or np.any(norms == 0):
            raise RemoteModelError(f"{PROVIDER} at {where}: a zero or non-finite vector", endpoint=where)
        unit: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
        return unit

    def __repr__(self) -> str:
        return f"RemoteEmbedder(name={self.name!r}, url={self.endpoint.display!r}, batch_size={self.batch_size})"
