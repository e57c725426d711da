"""A loopback server that plays an embeddings and re-ranking endpoint with a real local model behind it.

``POST /v1/embeddings`` (OpenAI's format: ``{"model", "input"}`` → ``{"data": [{"index", "embedding"}]}``) returns
the vectors of the :class:`~ragwright.models.base.Embedder` it was given (the local MiniLM in the tests, so vectors are
real); ``POST /rerank`` answers TEI's format (``{"query", "texts"}`` → ``[{"index", "score"}]``) and ``POST
/v1/rerank`` Cohere's (``{"query", "documents"}`` → ``{"results": [{"index", "relevance_score"}]}``), scoring by the
cosine of the same embedder's vectors. The model runs on the server's thread, one request at a time (like one GPU).

The fault vocabulary is the loopback server's :class:`~ragwright.testing.loopback_http.Plan` (status, delay, hang,
drop, malformed, wrong content type), plus ``Plan(vector_dim=n)`` for vectors of the wrong width. ``Plan(delay=s)``
as the ``default`` gives every request a fixed latency (bench/remote_embed_throughput.py).

Example::

    with EmbeddingServer(default_embedder()) as server:
        server.enqueue(Plan(status=503))                     # the first request fails, the retry succeeds
        emb = RemoteEmbedder(f"{server.base_url}#minilm")
        emb.embed(["a passage"])
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from ragwright.models.base import Embedder
from ragwright.testing.loopback_http import LoopbackServer, Plan, Received, Reply
from ragwright.testing.provider_replies import early_reply, json_reply

__all__ = ["EmbeddingServer"]


class EmbeddingServer(LoopbackServer):
    """Serves ``embedder``'s vectors on ``/v1/embeddings`` and cosine scores on ``/rerank`` and ``/v1/rerank``."""

    def __init__(self, embedder: Embedder, *, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embedder = embedder
        self.api_key = api_key
        """When set, requests without ``Authorization: Bearer <api_key>`` get 401."""
        self.texts_embedded = 0
        self._model_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def respond(self, request: Received, plan: Plan) -> Reply:
        message = plan.error_message or f"injected HTTP {plan.status}"
        if plan.echo_auth:  # as some servers and proxies do: the client must redact what comes back
            message += f" (you sent {request.headers.get('authorization', 'nothing')})"
        error = _error_body(message)
        early = early_reply(plan, error)
        if early is not None:
            return early
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, _error_body("Incorrect API key provided"))
        if plan.malformed:
            return Reply(200, b'{"data": [{"embedding": [0.1, ')
        body = request.body if isinstance(request.body, dict) else {}
        if request.method == "POST" and request.path in ("/v1/embeddings", "/embeddings"):
            return self._embeddings(body, plan)
        if request.method == "POST" and request.path in ("/rerank", "/v1/rerank"):
            return self._rerank(body, tei=request.path == "/rerank")
        return Reply(404, _error_body(f"no route {request.method} {request.path}"))

    def _vectors(self, texts: list[str]) -> np.ndarray:
        with self._model_lock:
            self.texts_embedded += len(texts)
            return self.embedder.embed(texts)

    def _embeddings(self, body: dict[str, Any], plan: Plan) -> Reply:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return Reply(400, _error_body("'input' must be a string or a list of strings"))
        vectors = self._vectors(texts)
        if plan.vector_dim is not None:
            vectors = np.resize(vectors, (len(texts), plan.vector_dim))
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        tokens = sum(len(t.split()) for t in texts)
        return json_reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _rerank(self, body: dict[str, Any], *, tei: bool) -> Reply:
        query, texts = body.get("query"), body.get("texts" if tei else "documents")
        if not isinstance(query, str) or not isinstance(texts, list):
            return Reply(400, _error_body("need 'query' and a list of " + ("'texts'" if tei else "'documents'")))
        vectors = self._vectors([query, *texts])
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores)
        if tei:
            return json_reply(200, [{"index": int(i), "score": float(scores[i])} for i in order])
        return json_reply(200, {"results": [{"index": int(i), "relevance_score": float(scores[i])} for i in order]})


def _error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
