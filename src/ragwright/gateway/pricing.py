"""USD prices per 1M tokens for each ``provider:model``, from a data file users can override.

The packaged table is ``ragwright/data/prices.toml``; ``gateway.prices_file`` in config points at a user file whose
entries replace or extend it. Each entry::

    ["openai:gpt-4o-mini"]
    input = 0.15          # USD per 1M input tokens not served from cache
    cached_input = 0.075  # USD per 1M cached input tokens (defaults to input)
    output = 0.60         # USD per 1M output tokens that are not reasoning
    reasoning = 0.60      # USD per 1M reasoning tokens (defaults to output)
    context_window = 128000

    ["anthropic:claude-haiku-4-5"]
    input = 1.00
    cached_input = 0.10   # cache reads: 0.1x input
    cache_write = 1.25    # USD per 1M input tokens written to the prompt cache (defaults to input); 5-minute writes
    cache_write_1h = 2.00 # USD per 1M input tokens written with a 1-hour lifetime (defaults to cache_write)
    output = 5.00

Anthropic bills cache writes at 1.25x the input rate (5-minute lifetime) or 2x (1-hour), reads at 0.1x
(https://docs.anthropic.com/en/docs/about-claude/pricing, "5m Cache Writes" / "1h Cache Writes" / "Cache Hits"
columns). OpenAI bills no write premium, so its entries leave ``cache_write`` unset (= input).

A model with no entry has cost ``None`` (shown as unknown), never a guessed zero; ``local:*`` and ``fake:*`` models
are free unless listed.

Example::

    table = PriceTable.load()
    table.cost("openai:gpt-4o-mini", Usage(input_tokens=1000, cached_input_tokens=200, output_tokens=50))
    table.cost("anthropic:claude-haiku-4-5", Usage(input_tokens=1000, cached_input_tokens=400, cache_write_tokens=100,
                                                   output_tokens=50))   # 500 fresh + 400 read + 100 written
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
_FIELDS = {"input", "output", "cached_input", "reasoning", "context_window", "cache_write", "cache_write_1h"}


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens of one model: input, output and the cached, cache-write and reasoning rates."""

    input: float
    output: float
    cached_input: float | None = None
    reasoning: float | None = None
    context_window: int | None = None
    cache_write: float | None = None
    """Input written to the prompt cache (Anthropic's 5-minute writes); None means the input rate."""
    cache_write_1h: float | None = None
    """Input written to the prompt cache with a 1-hour lifetime; None means ``cache_write``."""

    @property
    def cache_write_rate(self) -> float:
        return self.input if self.cache_write is None else self.cache_write

    @property
    def cache_write_1h_rate(self) -> float:
        return self.cache_write_rate if self.cache_write_1h is None else self.cache_write_1h

    @property
    def max_input_rate(self) -> float:
        """The dearest rate any input token can be billed at."""
        return max(self.input, self.cached_input or 0.0, self.cache_write_rate, self.cache_write_1h_rate)

    def cost(self, usage: Usage) -> float:
        """Cost in USD: fresh input, cache reads, cache writes (5-minute and 1-hour), visible output and reasoning
        output each at their own rate; a token is charged in one bucket only."""
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        written = min(usage.cache_write_tokens, usage.input_tokens - cached)
        written_1h = min(usage.cache_write_1h_tokens, written)
        reasoning = min(usage.reasoning_tokens, usage.output_tokens)
        total = (
            (usage.input_tokens - cached - written) * self.input
            + cached * (self.input if self.cached_input is None else self.cached_input)
            + (written - written_1h) * self.cache_write_rate
            + written_1h * self.cache_write_1h_rate
            + (usage.output_tokens - reasoning) * self.output
            + reasoning * (self.output if self.reasoning is None else self.reasoning)
        )
        return total / 1_000_000


class PriceTable:
    """Model names to prices (the packaged table with the configured file on top); costs a call's usage."""

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
        """The most a call can cost: all input at the dearest input rate (a cache write costs more than fresh input),
        all output at the dearer of output and reasoning rates."""
        price = self.get(model)
        if price is None:
            return None
        out_rate = max(price.output, price.reasoning or 0.0)
        return (input_tokens * price.max_input_rate + max_output_tokens * out_rate) / 1_000_000


def _parse(data: dict[str, Any], where: str) -> dict[str, Price]:
    prices: dict[str, Price] = {}
    for model, entry in data.items():
        if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
            raise ConfigError(f"{where}: [{model!r}] needs at least 'input' and 'output' (USD per 1M tokens)")
        unknown = set(entry) - _FIELDS
        if unknown:
            raise ConfigError(f"{where}: [{model!r}] has unknown fields {sorted(unknown)}")
        try:
            window = entry.get("context_window")
            prices[model] = Price(
                input=float(entry["input"]),
                output=float(entry["output"]),
                cached_input=_opt_float(entry.get("cached_input")),
                reasoning=_opt_float(entry.get("reasoning")),
                context_window=None if window is None else int(window),
                cache_write=_opt_float(entry.get("cache_write")),
                cache_write_1h=_opt_float(entry.get("cache_write_1h")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: [{model!r}]: {exc}") from None
    return prices


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
