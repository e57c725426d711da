"""The PostgreSQL fixtures (``postgres_dsn``, ``fresh_postgres_dsn``) moved to ``tests/conftest.py`` so every test
package can use them; ``new_schema_dsn`` is re-exported here for the tests that import it from this module."""

from __future__ import annotations

from ragwright.testing.postgres import new_schema_dsn

__all__ = ["new_schema_dsn"]
