"""Observability: request ids, structured logs, metrics and traces.

Traces: OpenTelemetry spans (GenAI semantic conventions), the local SQLite trace store, export accounting. Nothing
runs at import. :func:`ragwright.observability.tracing.configure` installs a tracer provider from ``[observability]``;
until then (and with ``tracing = "off"``) every :func:`~ragwright.observability.tracing.stage` is a shared no-op
object and costs a function call.
"""
