"""``"provider:model"`` specs to :class:`~ragwright.gateway.base.ChatModel` s, through a dict of lazily imported
factories: importing this module imports no HTTP library and no provider adapter.

The provider name is looked up in ``gateway.providers`` (its ``kind`` picks the adapter, so ``groq`` or ``ollama``
with ``kind = "openai"`` use the OpenAI-compatible one); ``local`` and ``fake`` are built in. API keys are secret
references resolved here, when the model is built, never at import or settings load.

Example::

    model = make_chat_model("openai:gpt-4o-mini", settings.gateway, prices=PriceTable.load())
    model = make_chat_model("local:smollm2", settings.gateway, prices=prices)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ragwright.config import GatewaySettings, ProviderSettings, resolve_secret
from ragwright.errors import ConfigError
from ragwright.gateway.base import ChatModel
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import ChatRequest

if TYPE_CHECKING:
    import httpx

__all__ = ["BUILTIN_PROVIDERS", "HTTP_KINDS", "make_chat_model", "split_spec"]

HTTP_KINDS: dict[str, str] = {
    "openai": "ragwright.gateway.providers.openai:OpenAIChatModel",
    "anthropic": "ragwright.gateway.providers.anthropic:AnthropicChatModel",
}
"""Provider kind -> ``module:class`` of its adapter, imported on first use."""

Builder = Callable[[str, str, GatewaySettings, PriceTable, "httpx.AsyncClient | None"], ChatModel]


def split_spec(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; ConfigError if either part is missing."""
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise ConfigError(f"model {spec!r} must be written provider:model (e.g. openai:gpt-4o-mini, local:smollm2)")
    return provider, model


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


def _local(
    provider: str, model: str, settings: GatewaySettings, prices: PriceTable, client: httpx.AsyncClient | None
) -> ChatModel:
    _load("ragwright.gateway.providers.local:check_local_model")(model)
    cls = _load("ragwright.gateway.providers.local:LocalChatModel")
    model_obj: ChatModel = cls(model, threads=settings.local.threads)
    return model_obj


def _fake(
    provider: str, model: str, settings: GatewaySettings, prices: PriceTable, client: httpx.AsyncClient | None
) -> ChatModel:
    from ragwright.testing.fake_chat import FakeChatModel

    def echo(request: ChatRequest) -> str:
        last = next((m.content for m in reversed(request.messages) if m.role == "user" and m.content), "")
        return f"(fake reply) {last[:200]}"

    window = _window(prices, f"{provider}:{model}")
    return FakeChatModel(echo, name=f"{provider}:{model}", prices=prices, context_window=window)


BUILTIN_PROVIDERS: dict[str, Builder] = {"local": _local, "fake": _fake}
"""Providers that need no ``gateway.providers`` entry."""


def _window(prices: PriceTable, spec: str) -> int | None:
    price = prices.get(spec)
    return price.context_window if price is not None else None


def _http(
    provider: str,
    model: str,
    conf: ProviderSettings,
    settings: GatewaySettings,
    prices: PriceTable,
    client: httpx.AsyncClient | None,
) -> ChatModel:
    path = HTTP_KINDS.get(conf.kind)
    if path is None:
        raise ConfigError(f"provider {provider!r} has unknown kind {conf.kind!r}; known kinds: {sorted(HTTP_KINDS)}")
    cls = _load(path)
    api_key = resolve_secret(conf.api_key)
    built: ChatModel = cls(
        model,
        base_url=conf.base_url,
        api_key=api_key,
        client=client,
        prices=prices,
        headers=dict(conf.headers),
        provider_name=provider,
        context_window=_window(prices, f"{provider}:{model}"),
        timeout=settings.timeout,
    )
    return built


def make_chat_model(
    spec: str, settings: GatewaySettings, *, prices: PriceTable, client: httpx.AsyncClient | None = None
) -> ChatModel:
    """The provider adapter for ``spec`` (no policies: those are wrapped around it by the gateway builder).

    ``client=None`` makes HTTP adapters use the shared pooled client of whichever event loop calls them.
    Raises ConfigError for an unknown provider (listing the known ones) or an unset API key reference.
    """
    provider, model = split_spec(spec)
    conf = settings.providers.get(provider)
    if conf is not None:
        return _http(provider, model, conf, settings, prices, client)
    builtin = BUILTIN_PROVIDERS.get(provider)
    if builtin is not None:
        return builtin(provider, model, settings, prices, client)
    known = sorted({*settings.providers, *BUILTIN_PROVIDERS})
    raise ConfigError(
        f"unknown provider {provider!r} in {spec!r}; known providers: {', '.join(known)} "
        f"(add one under [gateway.providers.{provider}] with kind and base_url)"
    )
