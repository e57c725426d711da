"""USD prices per 1M tokens for each ``provider:model``, from a data file users can override.

The packaged table is ``ragwright/data/prices.toml``; ``gateway.prices_file`` in config points at a user file whose
entries replace or extend it. Each entry::

    ["openai:gpt-4o-mini"]
    input = 0.15          # USD per 1M input tokens not served from cache
    cached_input = 0.075  # USD per 1M cached input tokens (defaults to input)
    output = 0.60         # USD per 1M output tokens that are not reasoning
    reasoning = 0.60      # USD per 1M reasoning tokens (defaults to output)
    context_window = 128000

A model with no entry has cost ``None`` (shown as unknown), never a guessed zero; ``local:*`` and ``fake:*`` models
are free unless listed.

Example::

    table = PriceTable.load()
    table.cost("openai:gpt-4o-mini", Usage(input_tokens=1000, cached_input_tokens=200, output_tokens=50))
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ragwright.errors import ConfigError
from ragwright.gateway.types import Usage

FREE_PROVIDERS = ("local", "fake")


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cached_input: float | None = None
    reasoning: float | None = None
    context_window: int | None = None

    def cost(self, usage: Usage) -> float:
        """Cost in USD: uncached input, cached input, visible output and reasoning output each at their own rate."""
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        reasoning = min(usage.reasoning_tokens, usage.output_tokens)
        total = ((usage.input_tokens - cached) * self.input
                 + cached * (self.input if self.cached_input is None else self.cached_input)
                 + (usage.output_tokens - reasoning) * self.output
                 + reasoning * (self.output if self.reasoning is None else self.reasoning))
        return total / 1_000_000


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        """The packaged table, with ``override`` (a TOML file in the same format) applied on top."""
        text = resources.files("ragwright").joinpath("data/prices.toml").read_text(encoding="utf-8")
        prices = _parse(tomllib.loads(text), "packaged prices.toml")
        if override is not None:
            try:
                data = tomllib.loads(override.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read price file {override}: {exc}") from None
            prices.update(_parse(data, str(override)))
        return cls(prices)

    def get(self, model: str) -> Price | None:
        price = self.prices.get(model)
        if price is None and model.split(":", 1)[0] in FREE_PROVIDERS:
            return Price(0.0, 0.0)
        return price

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.get(model)
        return None if price is None else price.cost(usage)

    def worst_case(self, model: str, input_tokens: int, max_output_tokens: int) -> float | None:
        """The most a call can cost: all input uncached, all output at the dearer of output and reasoning rates."""
        price = self.get(model)
        if price is None:
            return None
        out_rate = max(price.output, price.reasoning or 0.0)
        return (input_tokens * price.input + max_output_tokens * out_rate) / 1_000_000


def _parse(data: dict[str, Any], where: str) -> dict[str, Price]:
    prices: dict[str, Price] = {}
    for model, entry in data.items():
        if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
            raise ConfigError(f"{where}: [{model!r}] needs at least 'input' and 'output' (USD per 1M tokens)")
        unknown = set(entry) - {"input", "output", "cached_input", "reasoning", "context_window"}
        if unknown:
            raise ConfigError(f"{where}: [{model!r}] has unknown fields {sorted(unknown)}")
        try:
            window = entry.get("context_window")
            prices[model] = Price(input=float(entry["input"]), output=float(entry["output"]),
                                  cached_input=_opt_float(entry.get("cached_input")),
                                  reasoning=_opt_float(entry.get("reasoning")),
                                  context_window=None if window is None else int(window))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: [{model!r}]: {exc}") from None
    return prices


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
