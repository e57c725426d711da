"""Gateway policies: each wraps a :class:`~ragwright.gateway.base.ChatModel` and is one, so they compose::

    Router -> Cache -> Budget -> RateLimit -> Fallback[ Retry(CircuitBreaker(Timeout(provider))) ... ]

One module each: ``timeout``, ``retry``, ``breaker``, ``fallback``, ``ratelimit``, ``budget``, ``cache`` (with
``cache_guard``) and ``router``. Every policy takes its ``[gateway.<section>]`` settings as keyword arguments, e.g.
``Retry(inner, **settings.gateway.retry.model_dump())``. The names below are imported on first use, so importing
this package loads neither ``limits`` nor ``numpy``.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Timeout": "timeout",
    "Retry": "retry",
    "RetryBudget": "retry",
    "CircuitBreaker": "breaker",
    "Fallback": "fallback",
    "RateLimit": "ratelimit",
    "Budget": "budget",
    "BudgetStore": "budget",
    "InMemoryBudgetStore": "budget",
    "Cache": "cache",
    "Router": "router",
    "complexity": "router",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
