"""Budget: USD per tenant and per API key per UTC day or month, never overspent under concurrency.

Before each call the policy **reserves** the call's worst-case cost (``PriceTable.worst_case`` of every model the
call may reach, e.g. the dearest in a fallback chain, for an estimated input and ``max_tokens`` or a default cap)
against every budget that applies, in one atomic step. After the call it **reconciles**: the reservation is
replaced by the real cost (``response.cost_usd``, or the final stream chunk's). A failed call releases its
reservation. Because concurrent calls see each other's reservations, 200 calls at once cannot spend past the limit.

Decisions:

- **Unknown price** (a model with no entry in the price table): with ``unknown_price="refuse"`` (the default) the
  call is refused with :class:`~ragwright.errors.ConfigError` naming the model, because a budget that cannot price
  a call cannot hold. ``"allow"`` lets it through uncharged (a warning is logged once per model).
- A stream cut after its first chunk is charged its full reservation: the provider bills tokens we never saw.
- A reply without a cost (e.g. a provider that reports none) is priced from its usage, else charged the reservation.

Periods are UTC: a day resets at 00:00 UTC, a month on the 1st. :class:`~ragwright.errors.BudgetExceeded` carries
``remaining``, ``resets_at`` (epoch seconds) and ``needed`` (the worst case that did not fit).

State lives behind :class:`BudgetStore` (in memory here; a Redis store can implement the same three methods).

Example::

    model = Budget(inner, tenant_usd=5.0, key_usd=None, period="day", prices=PriceTable.load())
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol

from ragwright.errors import BudgetExceeded, ConfigError, StreamInterrupted
from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import (
    DEFAULT_MAX_TOKENS,
    aclose,
    candidate_names,
    estimate_input_tokens,
    max_output_tokens,
)
from ragwright.gateway.pricing import PriceTable
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk, Usage

log = logging.getLogger(__name__)


class BudgetStore(Protocol):
    """Spent and reserved USD per account (an account is a scope plus its period, e.g. ``tenant:acme@2026-11-22``)."""

    async def reserve(self, accounts: Sequence[tuple[str, float]], amount: float) -> tuple[str, float] | None:
        """Atomically add ``amount`` to each ``(account, limit)``'s reservations if every one stays within its limit.
        Returns None on success; otherwise ``(account, remaining)`` of the first that cannot, having changed nothing."""
        ...

    async def settle(self, accounts: Sequence[str], reserved: float, actual: float) -> None:
        """Replace a reservation of ``reserved`` by a spend of ``actual`` on each account."""
        ...

    async def spent(self, account: str) -> float: ...


class InMemoryBudgetStore:
    """One process's budgets. Every method completes without awaiting, so each is atomic on the event loop.
    Accounts of past periods are dropped once they hold no open reservation (memory stays bounded)."""

    def __init__(self) -> None:
        self._accounts: dict[str, list[float]] = {}  # account -> [spent, reserved]
        self._period = ""

    def _roll(self, accounts: Sequence[str]) -> None:
        period = accounts[0].rsplit("@", 1)[-1] if accounts else self._period
        if period == self._period:
            return
        self._period = period
        for name in [n for n, (_, held) in self._accounts.items() if not n.endswith("@" + period) and held <= 0]:
            del self._accounts[name]

    async def reserve(self, accounts: Sequence[tuple[str, float]], amount: float) -> tuple[str, float] | None:
        self._roll([a for a, _ in accounts])
        for name, limit in accounts:
            spent, held = self._accounts.get(name, (0.0, 0.0))
            if spent + held + amount > limit + 1e-12:
                return name, max(0.0, limit - spent - held)
        for name, _ in accounts:
            self._accounts.setdefault(name, [0.0, 0.0])[1] += amount
        return None

    async def settle(self, accounts: Sequence[str], reserved: float, actual: float) -> None:
        for name in accounts:
            slot = self._accounts.get(name)
            if slot is not None:
                slot[0] += actual
                slot[1] = max(0.0, slot[1] - reserved)

    async def spent(self, account: str) -> float:
        return self._accounts.get(account, [0.0, 0.0])[0]

    def __len__(self) -> int:
        return len(self._accounts)


def period_bounds(now: float, period: Literal["day", "month"]) -> tuple[str, float]:
    """The UTC period containing epoch second ``now``: its label and the epoch second it resets at."""
    at = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = datetime(at.year, at.month, at.day, tzinfo=UTC)
        return start.strftime("%Y-%m-%d"), start.timestamp() + 86400
    nxt = datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)
    return at.strftime("%Y-%m"), nxt.timestamp()


class Budget(WrapperModel):
    """Refuses a call whose worst-case cost the tenant's or key's USD budget cannot cover (see the module)."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        tenant_usd: float | None = None,
        key_usd: float | None = None,
        period: Literal["day", "month"] = "day",
        prices: PriceTable,
        clock: Callable[[], float] = time.time,
        store: BudgetStore | None = None,
        unknown_price: Literal["refuse", "allow"] = "refuse",
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        super().__init__(inner)
        self.tenant_usd = tenant_usd
        self.key_usd = key_usd
        self.period = period
        self.prices = prices
        self.clock = clock
        self.store: BudgetStore = store if store is not None else InMemoryBudgetStore()  # an empty store is falsy
        self.unknown_price = unknown_price
        self.default_max_tokens = default_max_tokens
        self._warned: set[str] = set()

    def worst_case(self, request: ChatRequest) -> float | None:
        """The most this call can cost across every model it may reach; None if any has no price."""
        tokens_in = estimate_input_tokens(request)
        tokens_out = max_output_tokens(request, self.default_max_tokens)
        worst = 0.0
        for name in candidate_names(self.inner):
            cost = self.prices.worst_case(name, tokens_in, tokens_out)
            if cost is None:
                return None
            worst = max(worst, cost)
        return worst

    def _accounts(self, request: ChatRequest) -> tuple[list[tuple[str, float]], float]:
        label, resets_at = period_bounds(self.clock(), self.period)
        accounts: list[tuple[str, float]] = []
        if self.tenant_usd is not None:
            accounts.append((f"tenant:{request.context.tenant}@{label}", self.tenant_usd))
        if self.key_usd is not None and request.context.key_id is not None:
            accounts.append((f"key:{request.context.key_id}@{label}", self.key_usd))
        return accounts, resets_at

    async def reserve(self, request: ChatRequest) -> tuple[list[str], float]:
        """Reserve the worst case on every budget that applies: (accounts, amount). Raises BudgetExceeded."""
        accounts, resets_at = self._accounts(request)
        if not accounts:
            return [], 0.0
        needed = self.worst_case(request)
        if needed is None:
            names = [n for n in candidate_names(self.inner) if self.prices.get(n) is None]
            if self.unknown_price == "refuse":
                raise ConfigError(
                    f"no price for {', '.join(names)}: a budget cannot hold without one; add it to "
                    "gateway.prices_file (USD per 1M tokens)"
                )
            for name in set(names) - self._warned:
                log.warning("budget: no price for %s; its calls are not charged", name)
                self._warned.add(name)
            needed = 0.0
        refused = await self.store.reserve(accounts, needed)
        if refused is not None:
            account, remaining = refused
            raise BudgetExceeded(account.rsplit("@", 1)[0], remaining=remaining, resets_at=resets_at, needed=needed)
        return [a for a, _ in accounts], needed

    def _actual(self, model: str, cost: float | None, usage: Usage | None, reserved: float) -> float:
        if cost is not None:
            return cost
        if usage is not None:
            priced = self.prices.cost(model, usage)
            if priced is not None:
                return priced
        return reserved

    async def chat(self, request: ChatRequest) -> ChatResponse:
        accounts, reserved = await self.reserve(request)
        if not accounts:
            return await self.inner.chat(request)
        try:
            response = await self.inner.chat(request)
        except BaseException:
            await self.store.settle(accounts, reserved, 0.0)
            raise
        actual = self._actual(response.model, response.cost_usd, response.usage, reserved)
        await self.store.settle(accounts, reserved, actual)
        return response

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        accounts, reserved = await self.reserve(request)
        stream = self.inner.stream(request)
        charge = 0.0  # nothing reached the caller yet: a failure releases the reservation
        model, cost, usage = self.name, None, None
        try:
            async for chunk in stream:
                charge = reserved
                model, cost, usage = chunk.model or model, chunk.cost_usd, chunk.usage or usage
                if chunk.finish_reason is not None:
                    charge = self._actual(model, cost, usage, reserved)
                yield chunk
        except StreamInterrupted:
            charge = reserved
            raise
        finally:
            await aclose(stream)
            if accounts:
                await self.store.settle(accounts, reserved, charge)
