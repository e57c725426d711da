"""`gateway serve`'s Prometheus metrics: requests, latency, tokens, cost, cache hits, retries, fallbacks, breaker
state, rate-limit and budget refusals.

The proxy answers a request in a few hundred microseconds of CPU, so the request path only adds to plain Python
numbers (one dict lookup per call, no lock: the proxy is one event loop); prometheus_client reads them when
``/metrics`` is scraped, through a custom collector, together with the state the policies already keep (each
provider's retry counts and breaker, each chain's fallbacks, the usage ledger's write counts).

Labels are bounded: the proxy's route (``chat``, ``models``, ``health``, ``metrics``, ``other``), the status class,
the model names the gateway serves (anything else, e.g. a name an upstream made up, is ``other``), the call's outcome
(``ok``, ``error``, ``cancelled``) and the error's class from :mod:`ragwright.errors`. Never a tenant, key, path or
any other string a client chose.

Example::

    metrics = GatewayMetrics()
    gateway = Gateway(settings, metrics=metrics)      # every call's UsageRecord reaches metrics.record
    metrics.watch(gateway)                            # breakers, retries, fallbacks read at scrape time
    metrics.http("chat", 200, 0.0012)                 # the proxy, per request
    metrics.render()                                  # Prometheus text
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from ragwright.gateway.ledger import UsageRecord

if TYPE_CHECKING:
    from ragwright.gateway.build import Gateway
    from ragwright.gateway.ledger import UsageLedger

__all__ = ["BREAKER_STATES", "LATENCY_BUCKETS", "ROUTES", "GatewayMetrics"]

ROUTES = ("chat", "models", "health", "metrics", "other")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BREAKER_STATES = ("closed", "open", "half_open")
_REFUSALS = {"RateLimited": "rate_limit", "BudgetExceeded": "budget"}
_MAX_SERIES = 2000
"""Label sets kept at most per family: a guard, should a bounded label ever turn out not to be."""


class _Histogram:
    """Bucket counts and a sum: what a Prometheus histogram needs, without prometheus_client's per-observe lock."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*(str(b) for b in LATENCY_BUCKETS), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


class _Calls:
    """The model calls of one (model asked for, model that answered, outcome, error class)."""

    __slots__ = ("cache_hits", "cache_write", "cached_input", "calls", "cost", "input", "output", "reasoning")

    def __init__(self) -> None:
        self.calls = self.cache_hits = self.input = self.cached_input = self.cache_write = 0
        self.output = self.reasoning = 0
        self.cost = 0.0


class GatewayMetrics:
    """The gateway proxy's metrics (see the module). ``record`` is a :class:`~ragwright.gateway.ledger.UsageSink`."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], int] = {}
        self._latency: dict[str, _Histogram] = {route: _Histogram() for route in ROUTES}
        self._calls: dict[tuple[str, str, str, str], _Calls] = {}
        self._call_latency: dict[str, _Histogram] = {}
        self._refused: dict[tuple[str, str], int] = {}
        self._known: frozenset[str] = frozenset()
        self._gateway: Gateway | None = None
        self._ledger: UsageLedger | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))

    def watch(self, gateway: Gateway, ledger: UsageLedger | None = None) -> None:
        """Read ``gateway``'s model names (the label values allowed), its policies' state and ``ledger``'s counts."""
        self._gateway = gateway
        self._known = frozenset(gateway.models())
        self._ledger = ledger

    # --- request path -------------------------------------------------------------------------------------------

    def http(self, route: str, status: int, seconds: float) -> None:
        """One proxy request: ``route`` is one of :data:`ROUTES`."""
        key = (route, _STATUS_CLASS[status // 100] if 0 < status < 600 else "other")
        self._requests[key] = self._requests.get(key, 0) + 1
        self._latency[route].observe(seconds)

    def record(self, rec: UsageRecord) -> bool:
        """One model call's outcome (from :class:`~ragwright.gateway.policies.ledgered.Ledgered`)."""
        key = (rec.model_requested, rec.model or "none", rec.status, rec.error_type or "")
        calls = self._calls.get(key)
        if calls is None:
            calls = self._new_series(key)
        calls.calls += 1
        if rec.status == "ok":
            calls.input += rec.input_tokens
            calls.cached_input += rec.cached_input_tokens
            calls.cache_write += rec.cache_write_tokens
            calls.output += rec.output_tokens
            calls.reasoning += rec.reasoning_tokens
            if rec.cost_usd is not None:
                calls.cost += rec.cost_usd
            if rec.cached:
                calls.cache_hits += 1
        else:
            refusal = _REFUSALS.get(rec.error_type or "")
            if refusal is not None:
                rkey = (self.label(rec.model_requested), refusal)
                self._refused[rkey] = self._refused.get(rkey, 0) + 1
        hist = self._call_latency.get(rec.model_requested)
        if hist is None:
            hist = self._call_latency.setdefault(self.label(rec.model_requested), _Histogram())
            if len(self._call_latency) < _MAX_SERIES:
                self._call_latency[rec.model_requested] = hist
        hist.observe(rec.latency_ms / 1000.0)
        return True

    def label(self, model: str) -> str:
        """``model`` if the gateway serves that name, else ``other`` (a bounded label value)."""
        return model if model in self._known or not self._known else "other"

    def _new_series(self, key: tuple[str, str, str, str]) -> _Calls:
        """The series of a label set seen for the first time; values outside the bounded sets become ``other``."""
        requested, answered, status, error = key
        labels = (self.label(requested), answered if answered == "none" else self.label(answered), status, error)
        calls = self._calls.get(labels) or _Calls()
        self._calls[labels] = calls
        if len(self._calls) < _MAX_SERIES:
            self._calls[key] = calls  # the raw key too, so the next call finds it at once
        return calls

    # --- scrape -------------------------------------------------------------------------------------------------

    def render(self) -> bytes:
        """Prometheus text format."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        yield from _collect_http(self)
        yield from _collect_calls(self)
        yield from _collect_policies(self)


_STATUS_CLASS = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")


class _Collector(Collector):
    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics.collect()


def _histogram(name: str, doc: str, label: str, series: dict[str, _Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for value, hist in sorted(series.items()):
        family.add_metric([value], hist.buckets(), hist.total)
    return family


def _collect_http(m: GatewayMetrics) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "ragwright_gateway_requests", "Proxy requests answered, by route and status class.", labels=["route", "status"]
    )
    for (route, status), n in sorted(m._requests.items()):
        requests.add_metric([route, status], n)
    yield requests
    yield _histogram(
        "ragwright_gateway_request_duration_seconds",
        "Proxy request time, to the end of the response (a whole stream for stream: true).",
        "route",
        m._latency,
    )


def _collect_calls(m: GatewayMetrics) -> Iterator[Metric]:
    labels = ["model", "answered_by", "status", "error"]
    calls = CounterMetricFamily("ragwright_gateway_calls", "Model calls through the gateway, by outcome.", None, labels)
    tokens = CounterMetricFamily(
        "ragwright_gateway_tokens", "Tokens of successful model calls, by kind.", None, ["model", "answered_by", "kind"]
    )
    cost = CounterMetricFamily(
        "ragwright_gateway_cost_usd", "USD spent on model calls (priced models).", labels=["model", "answered_by"]
    )
    hits = CounterMetricFamily(
        "ragwright_gateway_cache_hits", "Calls answered from the gateway's cache.", None, ["model"]
    )
    seen: set[int] = set()
    hit_by_model: dict[str, int] = {}
    spent: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for (requested, answered, status, error), c in list(m._calls.items()):
        if id(c) in seen:
            continue  # a raw key and its bounded labels share one series
        seen.add(id(c))
        requested, answered = m.label(requested), answered if answered == "none" else m.label(answered)
        calls.add_metric([requested, answered, status, error], c.calls)
        if status != "ok":
            continue
        pair = (requested, answered)
        spent[pair] = spent.get(pair, 0.0) + c.cost
        hit_by_model[requested] = hit_by_model.get(requested, 0) + c.cache_hits
        for kind, n in (("input", c.input), ("cached_input", c.cached_input), ("cache_write", c.cache_write),
                        ("output", c.output), ("reasoning", c.reasoning)):  # fmt: skip
            counts[(requested, answered, kind)] = counts.get((requested, answered, kind), 0) + n
    for key, n in sorted(counts.items()):
        tokens.add_metric(list(key), n)
    for pair, usd in sorted(spent.items()):
        cost.add_metric(list(pair), usd)
    for model, n in sorted(hit_by_model.items()):
        hits.add_metric([model], n)
    refused = CounterMetricFamily(
        "ragwright_gateway_refused",
        "Calls refused by the gateway's own rate limits or USD budgets.",
        labels=["model", "reason"],
    )
    for (model, reason), n in sorted(m._refused.items()):
        refused.add_metric([model, reason], n)
    yield from (calls, tokens, cost, hits, refused)
    yield _histogram(
        "ragwright_gateway_call_duration_seconds",
        "Model call time through every policy, by model asked for.",
        "model",
        {m.label(name): h for name, h in m._call_latency.items()},
    )


def _collect_policies(m: GatewayMetrics) -> Iterator[Metric]:
    gateway = m._gateway
    attempts = CounterMetricFamily(
        "ragwright_gateway_upstream_attempts",
        "Tries at each provider: retries included, and tries its open breaker refused.",
        labels=["provider"],
    )
    retries = CounterMetricFamily(
        "ragwright_gateway_retries", "Retries of failed provider calls, and retries the retry budget refused.",
        labels=["provider", "outcome"],
    )  # fmt: skip
    state = GaugeMetricFamily(
        "ragwright_gateway_breaker_state", "1 for the circuit breaker's current state.", labels=["provider", "state"]
    )
    opened = CounterMetricFamily("ragwright_gateway_breaker_opened", "Times each breaker opened.", labels=["provider"])
    fallbacks = CounterMetricFamily(
        "ragwright_gateway_fallbacks",
        "Calls answered by a later model of the chain after the first failed.",
        None,
        ["model"],
    )
    if gateway is not None:
        for spec, retry in sorted(gateway.retries().items()):
            attempts.add_metric([spec], retry.upstream_attempts)
            retries.add_metric([spec, "retried"], retry.budget.retries_spent)
            retries.add_metric([spec, "refused_by_budget"], retry.budget.retries_refused)
        for spec, breaker in sorted(gateway.breakers().items()):
            current = breaker.state
            for name in BREAKER_STATES:
                state.add_metric([spec, name], 1.0 if name == current else 0.0)
            opened.add_metric([spec], breaker.times_opened)
        for name, chain in sorted(gateway.fallbacks().items()):
            fallbacks.add_metric([m.label(name)], chain.fell_back)
    yield from (attempts, retries, state, opened, fallbacks)
    ledger = CounterMetricFamily(
        "ragwright_gateway_ledger_records", "Usage records by what became of them.", labels=["outcome"]
    )
    pending = GaugeMetricFamily("ragwright_gateway_ledger_pending", "Usage records waiting to be written.")
    if m._ledger is not None:
        stats = m._ledger.stats
        for outcome, n in (("written", stats.written), ("dropped", stats.dropped), ("lost", stats.lost)):
            ledger.add_metric([outcome], n)
        pending.add_metric([], stats.pending)
    yield from (ledger, pending)
