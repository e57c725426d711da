"""The live `serve` fixture of the HTTP tests, for the observability tests."""

from tests.http.conftest import server  # noqa: F401 - a fixture, found by pytest here
