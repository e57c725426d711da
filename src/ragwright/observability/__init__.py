"""Observability: request ids, structured logs, metrics and traces."""
