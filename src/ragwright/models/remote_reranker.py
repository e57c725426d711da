"""A `Reranker` over a remote ``/rerank`` endpoint: TEI (``tei-rerank:``) or Cohere-style (``cohere-rerank:``: Cohere,
Jina, vLLM's ``/v1/rerank``).

Spec (``[retrieval] reranker``): ``tei-rerank:<base URL>#<model>`` posts ``{"query", "texts"}`` to
``<base URL>/rerank`` and reads ``[{"index", "score"}]``; ``cohere-rerank:<base URL>#<model>`` posts
``{"model", "query", "documents"}`` and reads ``{"results": [{"index", "relevance_score"}]}``::

    tei-rerank:http://tei-rerank.internal:8080#BAAI/bge-reranker-base
    cohere-rerank:https://api.cohere.com/v2#rerank-v3.5        reranker_api_key = "env:COHERE_API_KEY"

Passages go in batches of ``batch_size`` (TEI's default limit is 32 per request), concurrently and retried like the
remote embedder's (:mod:`ragwright.models.remote`). A cross-encoder scores each pair on its own, so scores from
different batches of one call are comparable.

Example::

    rr = RemoteReranker("http://127.0.0.1:8080#bge-reranker-base", wire="tei")
    scores = rr.score("what causes rain?", ["Clouds release water ...", "The stock market ..."])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ragwright.config import RetrySettings, TimeoutSettings
from ragwright.errors import ConfigError, RemoteModelError
from ragwright.models.remote import RemoteCaller, parse_endpoint

__all__ = ["RemoteReranker", "cohere_reranker", "tei_reranker"]

Wire = Literal["tei", "cohere"]


class RemoteReranker:
    """Scores (query, passage) pairs with a remote cross-encoder; higher is more relevant."""

    def __init__(
        self,
        spec: str,
        *,
        wire: Wire = "tei",
        api_key: str | None = None,
        batch_size: int = 32,
        concurrency: int = 4,
        retry: RetrySettings | None = None,
        timeout: TimeoutSettings | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"{wire}-rerank: batch size must be at least 1, got {batch_size}")
        self.wire: Wire = wire
        self.provider = f"{wire}-rerank"
        self.endpoint = parse_endpoint(spec, self.provider)
        self.name = f"{self.provider}:{self.endpoint.model}"
        self.batch_size = batch_size
        self._caller = RemoteCaller(
            self.endpoint,
            provider=self.provider,
            api_key=api_key,
            concurrency=concurrency,
            retry=retry,
            timeout=timeout,
        )

    def score(self, query: str, passages: Sequence[str]) -> npt.NDArray[np.float32]:
        """One float32 relevance score per passage, in the order given."""
        passages = list(passages)
        out = np.empty(len(passages), dtype=np.float32)
        if not passages:
            return out
        batches = [passages[i : i + self.batch_size] for i in range(0, len(passages), self.batch_size)]
        replies = self._caller.post_all("/rerank", [self._payload(query, b) for b in batches])
        start = 0
        for reply, batch in zip(replies, batches, strict=True):
            out[start : start + len(batch)] = self._scores(reply, len(batch))
            start += len(batch)
        return out

    def _payload(self, query: str, texts: list[str]) -> dict[str, Any]:
        if self.wire == "tei":
            return {"query": query, "texts": texts, "truncate": True, "raw_scores": False}
        return {"model": self.endpoint.model, "query": query, "documents": texts, "top_n": len(texts)}

    def _scores(self, reply: Any, n: int) -> npt.NDArray[np.float32]:
        where = self.endpoint.display
        items: Any = reply.get("results") if isinstance(reply, dict) else reply
        field = "score" if self.wire == "tei" else "relevance_score"
        out = np.full(n, np.nan, dtype=np.float32)
        try:
            for item in items:
                out[int(item["index"])] = float(item[field])
        except (TypeError, KeyError, ValueError, IndexError) as exc:
            raise RemoteModelError(f"{self.provider} at {where}: malformed reply ({exc!r})", endpoint=where) from None
        if np.isnan(out).any():
            raise RemoteModelError(
                f"{self.provider} at {where}: scored {int((~np.isnan(out)).sum())} of {n} passages", endpoint=where
            )
        return out

    def __repr__(self) -> str:
        return f"RemoteReranker(name={self.name!r}, url={self.endpoint.display!r})"


def tei_reranker(spec: str, **kw: Any) -> RemoteReranker:
    """``tei-rerank:<base URL>#<model>`` (the registry's factory)."""
    return RemoteReranker(spec, wire="tei", **kw)


def cohere_reranker(spec: str, **kw: Any) -> RemoteReranker:
    """``cohere-rerank:<base URL>#<model>`` (the registry's factory)."""
    return RemoteReranker(spec, wire="cohere", **kw)
