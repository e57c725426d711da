"""Model specs from configuration resolved to instances through dicts of lazily imported factories.

A spec is ``"name"`` or ``"name:argument"``: ``"minilm"``, ``"fake"``, ``"onnx:/models/ms-marco-MiniLM-L6"``,
``"local"``; remote endpoints are ``"openai-embed:<base URL>#<model>"`` (any OpenAI-compatible ``/v1/embeddings``),
``"tei-rerank:<base URL>#<model>"`` and ``"cohere-rerank:<base URL>#<model>"`` (``/rerank``). Importing this module
imports no model runtime; a factory's module is imported only when it is used.

Example::

    emb = make_embedder("minilm", max_length=256)
    rr = make_reranker("onnx:/models/ms-marco-MiniLM-L6")
    gen = make_generator("fake", script=["42 [1]."])
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragwright.errors import ConfigError
from ragwright.models.base import Embedder, Reranker, TextGenerator

if TYPE_CHECKING:
    from ragwright.config import EmbeddingSettings, GatewaySettings, RetrievalSettings

__all__ = [
    "EMBEDDERS",
    "GENERATORS",
    "RERANKERS",
    "LazyFactory",
    "embedder_from_settings",
    "make_embedder",
    "make_generator",
    "make_reranker",
    "reranker_from_settings",
]


@dataclass(frozen=True)
class LazyFactory:
    """Calls ``module:attribute``, importing the module only then.

    With ``takes_arg`` the spec's argument (the text after ``name:``) is passed as the first positional argument.
    """

    target: str
    takes_arg: bool = False

    def __call__(self, arg: str | None, **kw: Any) -> Any:
        module_name, attr = self.target.split(":")
        obj = getattr(importlib.import_module(module_name), attr)
        return obj(arg, **kw) if self.takes_arg else obj(**kw)

    remote: bool = False
    """The argument is a ``<base URL>#<model>`` endpoint, and the factory takes the remote options."""

    def usage(self, name: str) -> str:
        if self.remote:
            return f"'{name}:http://host:port/v1#model'"
        return f"'{name}:<path>'" if self.takes_arg else f"'{name}'"


EMBEDDERS: dict[str, LazyFactory] = {
    "minilm": LazyFactory("ragwright.models.embedder:default_embedder"),
    "fake": LazyFactory("ragwright.testing.fakes:FakeEmbedder"),
    "openai-embed": LazyFactory("ragwright.models.remote_embedder:RemoteEmbedder", takes_arg=True, remote=True),
}
RERANKERS: dict[str, LazyFactory] = {
    "onnx": LazyFactory("ragwright.models.reranker:OnnxCrossEncoder", takes_arg=True),
    "fake": LazyFactory("ragwright.testing.fakes:FakeReranker"),
    "tei-rerank": LazyFactory("ragwright.models.remote_reranker:tei_reranker", takes_arg=True, remote=True),
    "cohere-rerank": LazyFactory("ragwright.models.remote_reranker:cohere_reranker", takes_arg=True, remote=True),
}
GENERATORS: dict[str, LazyFactory] = {
    "local": LazyFactory("ragwright.models.generator:default_generator"),
    "fake": LazyFactory("ragwright.testing.fakes:FakeGenerator"),
}


def _build(kind: str, table: Mapping[str, LazyFactory], spec: str, kw: dict[str, Any]) -> Any:
    name, sep, arg = spec.strip().partition(":")
    factory = table.get(name)
    known = ", ".join(f.usage(k) for k, f in table.items())
    if factory is None:
        raise ConfigError(f"unknown {kind} '{spec}'; known: {known}")
    if factory.takes_arg and not arg:
        raise ConfigError(f"{kind} '{name}' needs an argument, e.g. {factory.usage(name)}; known: {known}")
    if not factory.takes_arg and sep:
        raise ConfigError(f"{kind} '{name}' takes no argument, got '{spec}'; known: {known}")
    return factory(arg or None, **kw)


def make_embedder(spec: str, **kw: Any) -> Embedder:
    """An embedder from a spec ('minilm' or 'fake'); keyword arguments go to its factory."""
    embedder: Embedder = _build("embedder", EMBEDDERS, spec, kw)
    return embedder


def embedder_from_settings(settings: EmbeddingSettings, gateway: GatewaySettings | None = None) -> Embedder:
    """The embedder ``[embedding]`` describes: the model spec plus, for MiniLM, its length, threads and precisions;
    for a remote endpoint, its key, batch and concurrency, with ``[gateway]``'s retry and timeout settings."""
    kwargs: dict[str, Any] = {}
    if settings.model == "minilm":
        kwargs = {
            "max_length": settings.max_length,
            "threads": settings.threads,
            "query_precision": settings.query_precision,
            "document_precision": settings.document_precision,
        }
    elif _is_remote(EMBEDDERS, settings.model):
        kwargs = {
            "api_key": settings.api_key,
            "batch_size": settings.remote_batch,
            "concurrency": settings.remote_concurrency,
            **_gateway_policies(gateway),
        }
    return make_embedder(settings.model, **kwargs)


def reranker_from_settings(settings: RetrievalSettings, gateway: GatewaySettings | None = None) -> Reranker | None:
    """The re-ranker ``[retrieval] reranker`` names (None when unset); a remote one gets its key and ``[gateway]``'s
    retry and timeout settings."""
    if not settings.reranker:
        return None
    kwargs: dict[str, Any] = {}
    if _is_remote(RERANKERS, settings.reranker):
        kwargs = {"api_key": settings.reranker_api_key, **_gateway_policies(gateway)}
    return make_reranker(settings.reranker, **kwargs)


def _is_remote(table: Mapping[str, LazyFactory], spec: str) -> bool:
    factory = table.get(spec.strip().partition(":")[0])
    return factory is not None and factory.remote


def _gateway_policies(gateway: GatewaySettings | None) -> dict[str, Any]:
    return {} if gateway is None else {"retry": gateway.retry, "timeout": gateway.timeout}


def make_reranker(spec: str, **kw: Any) -> Reranker:
    """A re-ranker from a spec ('onnx:<model dir>' or 'fake')."""
    reranker: Reranker = _build("reranker", RERANKERS, spec, kw)
    return reranker


def make_generator(spec: str, **kw: Any) -> TextGenerator:
    """A local text generator from a spec ('local' or 'fake')."""
    generator: TextGenerator = _build("generator", GENERATORS, spec, kw)
    return generator
