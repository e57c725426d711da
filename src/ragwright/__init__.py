"""ragwright: grounded, cited question answering over your own documents.

Example::

    from pathlib import Path
    from ragwright import Ragwright, load_settings

    rw = Ragwright(load_settings())
    rw.ingest([Path("docs")])
    print(rw.ask("How do I rotate the API key?").text)

Importing ``ragwright`` loads nothing heavy and does nothing observable: each name below is imported on first use.
Test doubles (``FakeChatModel``, ``FakeEmbedder``, loopback provider servers) are in :mod:`ragwright.testing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ragwright import testing
    from ragwright.answering.types import Answer
    from ragwright.app import Ragwright
    from ragwright.config import Settings, load_settings
    from ragwright.errors import (
        ConfigError,
        GatewayError,
        IngestError,
        ModelError,
        RagwrightError,
        StoreError,
        UserError,
    )
    from ragwright.gateway.base import ChatModel
    from ragwright.retrieval.retriever import SearchResult
    from ragwright.store.base import Filters

__all__ = [
    "Answer",
    "ChatModel",
    "ConfigError",
    "Filters",
    "GatewayError",
    "IngestError",
    "ModelError",
    "Ragwright",
    "RagwrightError",
    "SearchResult",
    "Settings",
    "StoreError",
    "UserError",
    "load_settings",
    "testing",
]

_LAZY = {
    "Answer": "ragwright.answering.types",
    "ChatModel": "ragwright.gateway.base",
    "ConfigError": "ragwright.errors",
    "Filters": "ragwright.store.base",
    "GatewayError": "ragwright.errors",
    "IngestError": "ragwright.errors",
    "ModelError": "ragwright.errors",
    "Ragwright": "ragwright.app",
    "RagwrightError": "ragwright.errors",
    "SearchResult": "ragwright.retrieval.retriever",
    "Settings": "ragwright.config",
    "StoreError": "ragwright.errors",
    "UserError": "ragwright.errors",
    "load_settings": "ragwright.config",
}


def __getattr__(name: str) -> object:
    if name == "testing":
        return importlib.import_module("ragwright.testing")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # the next lookup is an ordinary attribute
        return value
    raise AttributeError(f"module 'ragwright' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
