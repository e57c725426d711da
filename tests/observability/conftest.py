"""The live `serve` fixture of the HTTP tests (and the store backend it depends on), for the observability tests."""

from tests.http.conftest import backend, server  # noqa: F401 - fixtures, found by pytest here
